# UniConvNet-L, ImageNet-22K pre-training (supp. Table 11 "UniConvNet-L (S)"; official TRAINING.md):
# 90 epochs, AdamW lr 4e-3 / wd 0.05 (off for 1-D params and biases) for a total batch of 4096 = 8 GPUs x 64 x 8
# accumulation steps, cosine to 1e-6, drop path 0.2, layer scale 1e-6, label smoothing 0.1, RandAugment
# m9-mstd0.5, Mixup 0.8 / CutMix 1.0, random erasing 0.25, no EMA, no evaluation.
# Paper vs code (we follow the code, which produced the released uniconvnet_l_22k_224.pth):
#  - input: paper 192, command 224 (no --input_size) -> 224. Paper: replace the RandomResizedCrop scale with 192:
#    --cfg-options train_dataloader.dataset.pipeline.1.scale=192
#  - warm-up: paper 20 epochs, command --warmup_epochs 5 -> 5. Paper: --cfg-options param_scheduler.0.end=20
#    param_scheduler.1.begin=20
# The schedule is written here (not inherited) because the 22K dataset base disables validation.
_base_ = [
    '../_base_/models/uniconvnet.py',
    '../_base_/datasets/imagenet21k_bs128_convnext_224.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='L', drop_path_rate=0.2), head=dict(num_classes=21841, in_channels=1280))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
    accumulative_counts=8,
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=90)
auto_scale_lr = dict(base_batch_size=4096)
