# SLaK-B (official README command): ConvNeXt-B widths x 1.3 (166, 332, 665, 1331), depths 3-3-27-3,
# drop path 0.5, prune rate 0.3, mask update every 100 optimizer steps; 16 GPUs x 32 x 8 accumulation = total
# batch 4096.
# Layout: 8 GPUs, the paper's total batch reached with gradient accumulation (the name says how).
_base_ = './slak-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='B', drop_path_rate=0.5), head=dict(in_channels=1331))
train_dataloader = dict(batch_size=32)
val_dataloader = dict(batch_size=32)
test_dataloader = dict(batch_size=32)
optim_wrapper = dict(accumulative_counts=16)
custom_hooks = [
    dict(type='largekernel.StepEMAHook', momentum=1e-4, update_buffers=True, priority='ABOVE_NORMAL'),
    dict(type='largekernel.DynamicSparseHook', sparsity=0.4, granularity='element', include=None, init='snip',
         prune='magnitude', grow='random', prune_rate=0.3, update_interval=100),
]
