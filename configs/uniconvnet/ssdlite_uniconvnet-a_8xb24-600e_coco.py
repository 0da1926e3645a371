# SSDLite 320x320 with a UniConvNet-A backbone (ImageNet-1K pretrained), COCO, 600 epochs: the light-variant
# COCO detection of the UniConvNet paper (supplementary D.4: SSDLite "following EMO"); metafile.yml records the
# row. The recipe (EMO's SSDLite: AdamW 1.2e-3, cosine, RepeatDataset x5 over 120 epochs, 8 x 24 images) is
# configs/_base_/recipes/ssdlite_adamw-cosine-600e_coco.py; here only the backbone:
# - UniConvNet-A, drop path 0.05 (the variant's ImageNet rate); its last two stages (96 and 192
#   channels, strides 16 and 32, through their LayerNorms) are the SSD neck's first two levels.
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH (see the RetinaNet config).
_base_ = '../_base_/recipes/ssdlite_adamw-cosine-600e_coco.py'

model = dict(
    backbone=dict(arch='A', drop_path_rate=0.05),
    neck=dict(in_channels=(96, 192), out_channels=(96, 192, 512, 256, 256, 128)),
    bbox_head=dict(in_channels=(96, 192, 512, 256, 256, 128)))
