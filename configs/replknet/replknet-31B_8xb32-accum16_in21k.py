# RepLKNet-31B, ImageNet-22K pre-training (Appendix A; official README): 90 epochs at 224, total batch 4096 = 128
# GPUs x 32, drop path 0.1, 21841 classes, no evaluation; "the other configurations are the same as the ImageNet-1K
# pretraining": AdamW lr 4e-3, weight decay 0.05, 10 warm-up epochs, cosine to 1e-6, RandAugment, Mixup 0.8 /
# CutMix 1.0, label smoothing 0.1, random erasing 0.25. No EMA is mentioned for pre-training. The schedule is written out here because the shared 22K data
# base and the shared schedule base both define val_cfg/test_cfg (mmengine refuses duplicate keys among bases).
# Layout: 8 GPUs, the paper's total batch reached with gradient accumulation (the name says how).
_base_ = [
    '../_base_/models/replknet.py',
    '../_base_/datasets/imagenet21k_bs128_convnext_224.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='31B', drop_path_rate=0.1), head=dict(num_classes=21841, in_channels=1024))
train_dataloader = dict(batch_size=32)
optim_wrapper = dict(
    accumulative_counts=16,
    optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=10, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=100000)
auto_scale_lr = dict(base_batch_size=4096)
