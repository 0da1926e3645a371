# FCOS3D nuScenes 1x recipe of ShiftwiseConv Table 6, shared by the SW-small and UniRepLKNet-S configs (the
# ShiftwiseConv code's UniRepLKNet-S baseline config; its SW-small config was not released and swaps the backbone
# only). On mmdet3d 1.4's `fcos3d_r101-caffe-dcn_fpn_head-gn_8xb2-1x_nus-mono3d`:
# - model: FCOSMono3DHead with GN, DCN on the last head conv, centerness on the regression branch, centre sampling
#   (the mmdet3d head unchanged); FPN from stride 8 (start_level 1) over the backbone's four stage outputs, each
#   through its LayerNorm; the family config sets the backbone and ``neck.in_channels``;
# - input: ImageNet RGB mean/std (the base's Caffe BGR statistics belong to its Caffe ResNet); resize to
#   1600 x 900, 3D flip 0.5, 2 images per GPU x 8 GPUs = 16 (the base's data pipeline);
# - optimiser: AdamW lr 1e-4, betas (0.9, 0.999), wd 0.05, layer-wise lr decay 0.8 (num_layers 12), no gradient
#   clipping: this replaces the base's SGD lr 0.002 + clip 35 (kept by
#   configs/unireplknet/fcos3d_unireplknet-t_fpn_head-gn_8xb2-1x_nus-mono3d.py);
# - schedule: 12 epochs, steps at 8 and 11, 500-iteration linear warm-up from 1/3 (the base's);
# - checkpoint every epoch, keep 5.
# The official run also sets find_unused_parameters=True (for distributed training with this head).
_base_ = 'mmdet3d::fcos3d/fcos3d_r101-caffe-dcn_fpn_head-gn_8xb2-1x_nus-mono3d.py'

model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        out_indices=(0, 1, 2, 3),
        out_norms=True,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.8, num_layers=12))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=5))
find_unused_parameters = True
