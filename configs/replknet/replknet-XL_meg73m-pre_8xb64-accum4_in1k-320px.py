# RepLKNet-XL, ImageNet-1K fine-tuning at 320 from the MegData-73M pre-training (Appendix A). MegData-73M is a
# PRIVATE semi-supervised data set (38M labelled + 35M unlabelled images, soft pseudo labels): neither the data nor
# the pre-training recipe can be reproduced, only this fine-tuning (start from the released XL weights converted
# with tools/model_converters/replknet_to_largekernel.py:  --cfg-options model.backbone.init_cfg.checkpoint=PATH).
# Paper: 30 epochs "following BEiT", lr 1e-4, stage-wise lr decay 0.4 (RepLKNet.layer_id with num_layers=4: stem 0,
# stage i with the transition before it i + 1, head 5), input 320, no small kernels; the official XL normalises
# with mean = std = 127.5 (mmpretrain's XL config has 122.5; we follow the official value).
# Not given by the paper (our choice, marked): total batch 2048 = 32 GPUs x 64 (mmpretrain's config name),
# weight decay 0.05, 5 warm-up epochs, drop path 0.2 (the XL pre-training value), no Mixup/CutMix (as XL
# pre-training), label smoothing 0.1, EMA 1e-4, the RandAugment / random-erasing pipeline of the other recipes.
# Evaluation: resize the short side to 365 (= 320 / 0.875), centre crop 320.
# Layout: 8 GPUs, the paper's total batch reached with gradient accumulation (the name says how).
_base_ = [
    '../_base_/models/replknet.py',
    '../_base_/datasets/imagenet_bs128_convnext_224.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(arch='XL', drop_path_rate=0.2,  # drop path: our choice
                  init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(in_channels=2048),
    train_cfg=None,
)
data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=True)
fill = [127.5, 127.5, 127.5]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=320, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[128, 128, 128], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=fill, fill_std=fill),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=365, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=320),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    accumulative_counts=4,
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),  # weight decay: our choice
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.4, num_layers=4),
)
param_scheduler = [  # warm-up: our choice
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]  # EMA: our choice
auto_scale_lr = dict(base_batch_size=2048)
