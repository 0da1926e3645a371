# RepLKNet-31B (ImageNet-22K pretrained) Cascade Mask R-CNN 3x: the official
# `RepLKNet-31B_22Kpretrain_cascade_mask_rcnn_3x_coco` (the official README's COCO table; results in metafile.yml).
# As the 1K config with drop path 0.4.
_base_ = './cascade-mask-rcnn_replknet-31B_fpn_ms-3x_coco.py'

model = dict(backbone=dict(drop_path_rate=0.4))
