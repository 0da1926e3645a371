# FCOS3D (monocular 3D detection, nuScenes) with a ShiftwiseConv SW-small backbone (ImageNet-1K pretrained), 1x:
# ShiftwiseConv Table 6 "FCOS3D-SW-small" (the published nuScenes mAP is in metafile.yml). The recipe (AdamW 1e-4,
# layer-wise lr decay 0.8, 12 epochs, batch 16; not mmdet3d's SGD one) is
# configs/_base_/recipes/fcos3d_fpn_head-gn_adamw-ld0.8-1x_nus-mono3d.py, shared with
# configs/unireplknet/fcos3d_unireplknet-s_fpn_head-gn_8xb2-1x_nus-mono3d.py; here only the backbone, as the
# official UniRepLKNet-S baseline's with the SW model swapped in (the SW-small config itself was not released):
# - SW-small (depths 3-3-27-3, widths 96-768, kernels 51/49/47/13 with N 3, G 0.23, 2 Rep branches, 4 edges),
#   drop path 0.5 and layer scales initialised at 1 (the baseline's; a pretrained checkpoint overwrites them),
#   plain BatchNorm (the official baseline does not use SyncBN), nothing frozen;
# - the FPN consumes stages 2-4 (start_level 1).
# Paper vs code: the official SW model prunes its large-kernel filters during ImageNet training (sparse=True); the
# pretrained checkpoint carries that sparsity, which largekernel.KeepSparsityHook keeps through fine-tuning, as the
# official downstream code does (no mask update; dense fine-tuning: --cfg-options custom_hooks.0.dense_finetune=True).
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH (an ImageNet checkpoint of this
# project, e.g. work_dirs/shiftwise-small_8xb64-accum8_in1k/epoch_300.pth, or an official one converted with
# tools/model_converters/convert.py).
_base_ = ['../_base_/recipes/fcos3d_fpn_head-gn_adamw-ld0.8-1x_nus-mono3d.py', '../_base_/sparse_finetune.py']

dims = [96, 192, 384, 768]
model = dict(
    backbone=dict(
        type='largekernel.ShiftWise',
        arch='small',
        drop_path_rate=0.5,
        layer_scale_init_value=1.0,
        norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(in_channels=dims))
