# FCOS + FPN with a RepLKNet-31B backbone (ImageNet-1K pretrained), COCO, 2x: the official
# `RepLKNet-31B_1Kpretrain_fcos_2x_coco` recipe (RepLKNet README object-detection table; the published box AP is in
# metafile.yml) written for mmdet 3.x on mmdet's FCOS R50-Caffe GN-head multi-scale 2x config:
# - model: mmdet's FCOS (GN head, 4 stacked convs, focal / IoU / centerness losses) with the backbone replaced;
#   FPN from stride 8 (start_level 1), extra convs on the P5 output with ReLU, 5 levels;
# - backbone: SyncBN in every layer, drop path 0.5, activation checkpointing (official use_checkpoint), the
#   outputs of all four stages without extra norms (official norm_intermediate_features=False), small kernels
#   unmerged (training form; deploy/ holds the re-parameterised twin);
# - input: ImageNet RGB mean/std (the base's Caffe BGR statistics belong to its Caffe ResNet); short side 640 or
#   800 (long side <= 1333), flip 0.5; test at 1333 x 800; 2 images per GPU x 8 GPUs = 16;
# - optimiser: AdamW lr 2e-4, betas (0.9, 0.999), wd 0.05, no weight decay on norm layers (norm_decay_mult 0),
#   gradient clipping at 35 (the base's bias lr x2 is not in the official recipe);
# - schedule: 24 epochs, lr x0.1 at epochs 16 and 22, 500-iteration constant warm-up at 1/3 (the base's).
# The official code uses the plain K x K depthwise conv under mmdet; conv_impl='native' is that choice here.
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH (an ImageNet checkpoint of this
# project, or an official one converted with tools/model_converters/convert.py).
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_ms-640-800-2x_coco.py'

model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='largekernel.RepLKNet',
        arch='31B',
        drop_path_rate=0.5,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        conv_impl='native',
        with_cp=True,
        out_indices=(0, 1, 2, 3),
        out_norms=False,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(in_channels=[128, 256, 512, 1024]))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(base_batch_size=16)
