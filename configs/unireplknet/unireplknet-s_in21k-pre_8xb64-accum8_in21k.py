# UniRepLKNet-S ImageNet-22K pre-training, 90 epochs at 224, 5 warm-up epochs, drop path 0.1, lr 4e-3 for a total
# batch of 4096 = 8 GPUs x 64 x 8 (official: 16 x 32 x 8). Mixup/CutMix 0.8/1.0, label smoothing 0.1.
_base_ = [
    '../_base_/models/unireplknet.py',
    '../_base_/datasets/imagenet21k_bs128_convnext_224.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='S', drop_path_rate=0.1), head=dict(num_classes=21841, in_channels=768))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=90)
val_cfg = None
test_cfg = None
