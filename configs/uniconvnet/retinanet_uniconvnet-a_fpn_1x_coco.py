# RetinaNet + FPN with a UniConvNet-A backbone (ImageNet-1K pretrained), COCO, 1x: the light-variant COCO
# detection of the UniConvNet paper (supplementary D.4: RetinaNet "following EMO"); metafile.yml records the row.
# The recipe (EMO's RetinaNet 1x: AdamW 2e-4, cosine, 12 epochs, batch 16) is
# configs/_base_/recipes/retinanet_fpn_adamw-cosine-1x_coco.py; here only the backbone:
# - UniConvNet-A, drop path 0.05 (the variant's ImageNet rate, as EMO reuses its own), all four stage outputs
#   through their LayerNorms into the FPN (from stride 8).
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH (an ImageNet checkpoint of this
# project, e.g. work_dirs/uniconvnet-a_8xb128-accum4_in1k/epoch_300.pth, or an official one converted with
# tools/model_converters/convert.py).
_base_ = '../_base_/recipes/retinanet_fpn_adamw-cosine-1x_coco.py'

model = dict(
    backbone=dict(arch='A', drop_path_rate=0.05),
    neck=dict(in_channels=[24, 48, 96, 192]))
