# Quick start: a small UniRepLKNet trained from scratch on the committed Fashion-MNIST subset
# (data/fashion_mnist_subset: 6000 training images, 1000 held-out test images, 28 x 28 grey) on 2 CPU cores.
# Single-channel input (in_channels=1), as the paper's audio and time-series models (§4.4). Kernel sizes follow the
# feature maps (28 x 28 input: stages of 7, 4, 2, 1 pixels): 7 x 7 Dilated Reparam Blocks in the first two stages
# already see the whole map, as 13 x 13 ones do on ImageNet's 56 x 56 and 28 x 28 stages; the rest are 3 x 3.
# Run it with `bash tools/quickstart.sh` (train, re-parameterise, evaluate both forms).
default_scope = 'mmpretrain'

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='largekernel.UniRepLKNet',
        arch=dict(depths=(2, 2, 2, 1), dims=(32, 64, 128, 256), kernel_sizes=((7, 3), (7, 3), (3, 3), (3,))),
        in_channels=1,
        channels_last=True,
        drop_path_rate=0.05,
        out_indices=(3,),
        gap_before_final_norm=True,
    ),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=10, in_channels=256,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
    init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0),
)

data_preprocessor = dict(num_classes=10, mean=[72.94], std=[90.02], to_rgb=False)  # Fashion-MNIST statistics
train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
dataset = dict(type='FashionMNIST', data_root='data/fashion_mnist_subset', download=False)
train_dataloader = dict(
    batch_size=64, num_workers=0,
    dataset=dict(**dataset, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=250, num_workers=0,
    dataset=dict(**dataset, split='test', test_mode=True, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1,))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_epochs = 12
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='accuracy/top1'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# each epoch's randomness depends only on (seed, epoch): `--resume auto` reproduces an uninterrupted run exactly
custom_hooks = [dict(type='largekernel.EpochSeedHook')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0, deterministic=False)
log_level = 'INFO'
load_from = None
resume = False
