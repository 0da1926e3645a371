# SLaK-T, ImageNet-1K from scratch, 300 epochs at 224, 40% sparse (official README command):
# --Decom True --width_factor 1.3 --kernel_size 51 49 47 13 5 --drop_path 0.1 --sparse --sparsity 0.4
# --sparse_init snip --prune magnitude --growth random --prune_rate 0.5 -u 2000, 4 GPUs x 128 x 8 accumulation
# = total batch 4096, AdamW lr 4e-3, wd 0.05, warm-up 20 epochs (ConvNeXt main.py default; the command does not
# change it), cosine to 1e-6, mixup 0.8 / cutmix 1.0, label smoothing 0.1, RandAugment m9, random erasing 0.25,
# EMA 0.9999 evaluated. Full precision as published (the official AMP path never applies the masks).
# update_interval counts optimizer steps (after accumulation), as -u does: keep the total batch at 4096.
# Layout: 8 GPUs, the paper's total batch reached with gradient accumulation (the name says how).
_base_ = [
    '../_base_/models/slak.py',
    '../_base_/datasets/imagenet_bs128_convnext_224.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='T', drop_path_rate=0.1), head=dict(in_channels=998))
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(accumulative_counts=4)
custom_hooks = [
    # timm-style EMA of the whole state dict (parameters and BN buffers), like the official ModelEma; the sparse hook
    # masks the EMA copies of masked weights ("SEMA").
    dict(type='largekernel.StepEMAHook', momentum=1e-4, update_buffers=True, priority='ABOVE_NORMAL'),
    dict(type='largekernel.DynamicSparseHook', sparsity=0.4, granularity='element', include=None, init='snip',
         prune='magnitude', grow='random', prune_rate=0.5, update_interval=2000),
]
