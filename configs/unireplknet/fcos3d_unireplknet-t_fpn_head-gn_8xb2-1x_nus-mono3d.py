# FCOS3D (monocular 3D detection, nuScenes) with a UniRepLKNet-T backbone, on mmdet3d 1.4's
# `fcos3d_r101-caffe-dcn_fpn_head-gn_8xb2-1x_nus-mono3d` recipe. The UniRepLKNet papers report no 3D detection, so this
# is our combination, not a published setting:
# - backbone: ImageNet-1K UniRepLKNet-T replacing the ResNet-101-DCN; like the ResNet there, the stem + first stage are
#   frozen and BatchNorm statistics are not updated (norm_eval; so plain BN, not SyncBN; unlike the ResNet, the BN
#   affine parameters are trained); drop path 0.3 and activation checkpointing as in our COCO T config; all four
#   stages (with their LayerNorms) go to the FPN, which starts at stride 8 (start_level 1);
# - input normalisation: ImageNet RGB mean/std (the base uses Caffe BGR statistics for its Caffe ResNet);
# - everything else (FCOSMono3DHead with GN, DCN on the last head conv, SGD lr 0.002, bias lr x2, grad clip 35,
#   12 epochs with steps at 8 and 11, 2 images per GPU x 8 GPUs) is the mmdet3d recipe unchanged.
# This is mmdet3d's SGD recipe; ./fcos3d_unireplknet-s_fpn_head-gn_8xb2-1x_nus-mono3d.py (and the SW-small config)
# use the published AdamW 1e-4 / layer decay 0.8 recipe of ShiftwiseConv Table 6 instead.
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH (see the COCO config).
_base_ = 'mmdet3d::fcos3d/fcos3d_r101-caffe-dcn_fpn_head-gn_8xb2-1x_nus-mono3d.py'

dims = [80, 160, 320, 640]
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='largekernel.UniRepLKNet',
        arch='T',
        drop_path_rate=0.3,
        norm_cfg=dict(type='BN', requires_grad=True),
        conv_impl='native',
        with_cp=True,
        out_indices=(0, 1, 2, 3),
        out_norms=True,
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(in_channels=dims),
)
