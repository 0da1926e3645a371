# RepLKNet-31B, ImageNet-1K 224 -> 384 fine-tuning (Appendix A; official README command): 30 epochs, total batch
# 1024 = 32 GPUs x 32, AdamW lr 4e-4, weight decay 1e-8 (README), 1 warm-up epoch, cosine to 1e-6, drop path 0.8
# (README), the same RandAugment / random erasing but no Mixup/CutMix, label smoothing 0.1, EMA (momentum 1e-4),
# layer-wise lr decay 0.7 over RepLKNet's 14 groups (RepLKNet.layer_id, num_layers 12; README).
# Set the 224 checkpoint (whole classifier: backbone and 1000-class head) with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH model.head.init_cfg.checkpoint=PATH
# Layout: 8 GPUs, the paper's total batch reached with gradient accumulation (the name says how).
_base_ = [
    '../_base_/models/replknet.py',
    '../_base_/datasets/imagenet_bs64_convnext_384.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(arch='31B', drop_path_rate=0.8,
                  init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(in_channels=1024, init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=None, prefix='head.')),
    train_cfg=None,
)
train_dataloader = dict(batch_size=32)
val_dataloader = dict(batch_size=32)
test_dataloader = dict(batch_size=32)
optim_wrapper = dict(
    accumulative_counts=4,
    optimizer=dict(type='AdamW', lr=4e-4, weight_decay=1e-8),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.7, num_layers=12),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=1, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
auto_scale_lr = dict(base_batch_size=1024)
