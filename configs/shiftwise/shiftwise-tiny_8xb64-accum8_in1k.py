# SW-tiny (ShiftwiseConv, CVPR 2025), ImageNet-1K from scratch, 300 epochs at 224 (paper Table 8; official README
# command): total batch 4096 = 8 GPUs x 64 x 8 accumulation steps (the official 8 x 64 x update_freq 8),
# AdamW lr 4e-3, wd 0.05, cosine to 1e-6, warm-up 5 epochs (Table 8), mixup 0.8 / cutmix 1.0, label smoothing 0.1,
# RandAugment m9, random erasing 0.25, drop path 0.2 (README), layer scale 1e-6, no EMA (--model_ema false).
# Kernel sizes 51, 49, 47, 13 with N = 3, ghost ratio 0.23, 2 Rep branches, 4 edges (README; main.py's ghost_ratio
# default 0 is not what the released model used).
# Coarse dynamic sparsity (--sparse --sparse_type rep_coarse --sparse_init snip --sparsity 0.3 --prune_rate 0.3
# --growth random -u 100 --only_L --sparse_gap 131): filter masks on the large-kernel group convs only, SNIP
# per-layer densities averaged over the Rep branches, pruned by filter L1 norm every 100 optimizer steps, random
# regrowth, prune rate cosine 0.3 -> 0.005, branch masks re-synchronised every 131 updates (the released run; the
# paper's ablations used 3 and 5). update_interval counts optimizer steps (after accumulation), as -u does: keep
# the total batch at 4096. Full precision as published (the official AMP path never applies the masks).
_base_ = [
    '../_base_/datasets/imagenet_bs128_convnext_224.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='largekernel.ShiftWise', arch='tiny', kernel_sizes=(51, 49, 47, 13), small_kernel=3,
                  ghost_ratio=0.23, num_branches=2, num_edges=4, padding='code', drop_path_rate=0.2,
                  layer_scale_init_value=1e-6, out_indices=(3,), gap_before_final_norm=True),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=640,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), init_cfg=None),
    init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=warmup_epochs, convert_to_iter_based=True),
]
custom_hooks = [
    dict(type='largekernel.DynamicSparseHook', sparsity=0.3, granularity='filter',
         include=[r'^backbone\.stages\..*\.mixer\.lk_convs\.\d+\.weight$'],
         branch_groups=[r'^backbone\.stages\..*\.mixer\.lk_convs\.(\d+)\.weight$'], sync_gap=131,
         init='snip', prune='magnitude_sum', grow='random', prune_rate=0.3, update_interval=100),
]
