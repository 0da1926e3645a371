# RepLKNet-31B, ImageNet-22K -> 1K fine-tuning at 384 (Appendix A; official README command): as the 224 fine-tune
# (30 epochs, AdamW lr 4e-4, weight decay 1e-8, 1 warm-up epoch, no Mixup/CutMix, label smoothing 0.1, EMA 1e-4,
# layer-wise lr decay 0.7 over 14 groups) but 32 GPUs x 16 (total 512), drop path 0.3 and the README's minimum lr
# 3e-4 (cosine from 4e-4 down to 3e-4, as printed in the README command; the paper states no minimum).
# Set the 22K checkpoint:  --cfg-options model.backbone.init_cfg.checkpoint=PATH
# Layout: 8 GPUs, the paper's total batch reached with gradient accumulation (the name says how).
_base_ = [
    '../_base_/models/replknet.py',
    '../_base_/datasets/imagenet_bs64_convnext_384.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(arch='31B', drop_path_rate=0.3,
                  init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(in_channels=1024),
    train_cfg=None,
)
train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=16)
test_dataloader = dict(batch_size=16)
optim_wrapper = dict(
    accumulative_counts=4,
    optimizer=dict(type='AdamW', lr=4e-4, weight_decay=1e-8),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.7, num_layers=12),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=3e-4, by_epoch=True, begin=1, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
auto_scale_lr = dict(base_batch_size=512)
