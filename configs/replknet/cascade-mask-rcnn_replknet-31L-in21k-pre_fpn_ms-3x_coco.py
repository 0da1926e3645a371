# RepLKNet-31L (ImageNet-22K pretrained) Cascade Mask R-CNN 3x: the official
# `RepLKNet-31L_22Kpretrain_cascade_mask_rcnn_3x_coco` (the official README's COCO table; results, params and FLOPs
# in metafile.yml). As the 31B 1K config with the 31L backbone and drop path 0.7.
_base_ = './cascade-mask-rcnn_replknet-31B_fpn_ms-3x_coco.py'

dims = [192, 384, 768, 1536]
model = dict(backbone=dict(arch='31L', drop_path_rate=0.7), neck=dict(in_channels=dims))
