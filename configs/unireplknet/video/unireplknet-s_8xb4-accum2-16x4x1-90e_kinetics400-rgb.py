# UniRepLKNet-S video recognition on Kinetics-400 from scratch: UniRepLKNet journal Table 9 "UniRepLKNet-S",
# 54.8% top-1 (5 clips x 3 crops), 55.5M parameters, no pretraining; = Table 11 video column, "UniRepLKNet-S (K=13)".
# The clip (16 frames at sampling rate 4, 224 x 224) becomes one 3 x 896 x 896 map (UniRepLKNet §3.3, eq. 5) in
# front of the unchanged UniRepLKNet (largekernel.VideoAsImageBackbone).
# Paper vs official code (the official video code is built on VideoMAE v2; no video weights are released):
# - width: the paper names UniRepLKNet-S (dims 96-768, the stage kernels of S: 3 / 13 / (13, 3, 3) x 9 / 13),
#   used here (55.2M parameters in the deploy form with the 400-class head, 56.0M in the training form); the
#   official script builds dims 128-1024 (B width) with stage-4 kernels 11 (97.2M, deploy form): that model is
#   unireplknet-b-k11-stage4_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py.
# - layout: the official code lays the (B, 3, T, H, W) clip out by a raw memory reshape to (B, 3, 4H, 4W)
#   (embedder layout='reshape', used here); the paper's text describes concatenated frames, a tiled mosaic
#   (layout='mosaic').
# - layer-wise lr decay 0.75 over ConvNeXt's 12 groups: the official script does not set --layer_decay, so its
#   default 0.75 applies (even though nothing is pretrained); kept.
# Recipe (official run_unireplknet.sh and its defaults): 8 GPUs x 4 clips x accumulation 2 (total 64), AdamW
# lr 4e-3 x 64 / 256, betas (0.9, 0.999), weight decay 0.05 (none on 1-D parameters and biases), 5 warm-up epochs,
# per-iteration cosine to 1e-6 x 64 / 256, 90 epochs, drop path 0.4, label smoothing 0.1, mixup 0.8 / cutmix 1.0
# (one of the two per batch, on the (B, 3, T, H, W) clip before the layout, as the official mixup on (B, 3T, H, W)),
# bf16 autocast, no EMA. Data: configs/_base_/datasets/video_kinetics400.py.
_base_ = ['../../_base_/datasets/video_kinetics400.py']
default_scope = 'mmaction'

num_classes = 400
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='largekernel.VideoAsImageBackbone',
        embedder=dict(num_frames=16, layout='reshape'),
        backbone=dict(type='largekernel.UniRepLKNet', arch='S', drop_path_rate=0.4, out_indices=(3,),
                      gap_before_final_norm=True)),
    cls_head=dict(type='TimeSformerHead', num_classes=num_classes, in_channels=768, init_std=0.02,
                  label_smooth_eps=0.1, average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        format_shape='NCTHW',
        blending=dict(type='RandomBatchAugment', probs=[0.5, 0.5], augments=[
            dict(type='MixupBlending', alpha=0.8, num_classes=num_classes),
            dict(type='CutmixBlending', alpha=1.0, num_classes=num_classes)])),
    test_cfg=dict(max_testing_views=5),
)

total_batch = 64
max_epochs, warmup_epochs = 90, 5
optim_wrapper = dict(
    type='AmpOptimWrapper', dtype='bfloat16', accumulative_counts=2,
    optimizer=dict(type='AdamW', lr=4e-3 * total_batch / 256, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75, num_layers=12),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-8 / 4e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6 * total_batch / 256, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=total_batch)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
