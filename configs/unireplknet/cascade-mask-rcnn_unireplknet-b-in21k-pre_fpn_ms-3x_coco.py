# UniRepLKNet-B (ImageNet-22K pretrained) Cascade Mask R-CNN 3x: official
# `casc_mask_rcnn_unireplknet_b_in22k_fpn_3x_coco`
# (paper Table 6; the published results are in metafile.yml). Drop path 0.6, layer decay 0.8, EMA as the S-22K config.
_base_ = './cascade-mask-rcnn_unireplknet-s-in21k-pre_fpn_ms-3x_coco.py'

dims = [128, 256, 512, 1024]
model = dict(backbone=dict(arch='B', drop_path_rate=0.6), neck=dict(in_channels=dims))
