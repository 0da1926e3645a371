# FCOS3D (monocular 3D detection, nuScenes) with a UniRepLKNet-S backbone (ImageNet-1K pretrained), 1x:
# ShiftwiseConv Table 6 "FCOS3D-UniRepLKNet-S", the ShiftwiseConv code's `fcos3d_UniRep_fpn_head-gn_8xb2-1x` baseline
# (the published nuScenes mAP is in metafile.yml). This is the AdamW recipe (lr 1e-4, layer-wise lr decay 0.8, 12
# epochs, batch 16) of configs/_base_/recipes/fcos3d_fpn_head-gn_adamw-ld0.8-1x_nus-mono3d.py, shared with the
# SW-small config; ./fcos3d_unireplknet-t_fpn_head-gn_8xb2-1x_nus-mono3d.py instead keeps mmdet3d's SGD recipe.
# Backbone as the official baseline:
# - UniRepLKNet-S, drop path 0.5, layer scales initialised at 1 (a pretrained checkpoint overwrites them), plain
#   BatchNorm, no activation checkpointing, nothing frozen; the plain K x K depthwise conv (official
#   attempt_use_lk_impl=False: "the batch size is very small"), conv_impl='native' here;
# - all four stage outputs through their LayerNorms; the FPN consumes stages 2-4 (start_level 1).
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH (e.g.
# work_dirs/unireplknet-s_8xb64-accum8_in1k/epoch_300.pth, or the official unireplknet_s_in1k_224_acc83.91.pth
# converted with tools/model_converters/convert.py).
_base_ = '../_base_/recipes/fcos3d_fpn_head-gn_adamw-ld0.8-1x_nus-mono3d.py'

dims = [96, 192, 384, 768]
model = dict(
    backbone=dict(
        type='largekernel.UniRepLKNet',
        arch='S',
        drop_path_rate=0.5,
        layer_scale_init_value=1.0,
        norm_cfg=dict(type='BN', requires_grad=True),
        conv_impl='native',
        with_cp=False),
    neck=dict(in_channels=dims))
