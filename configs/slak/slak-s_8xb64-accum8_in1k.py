# SLaK-S (official README command): as SLaK-T but depths 3-3-27-3, drop path 0.4, prune rate 0.3,
# mask update every 100 optimizer steps; 8 GPUs x 64 x 8 accumulation = total batch 4096.
_base_ = './slak-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='S', drop_path_rate=0.4), head=dict(in_channels=998))
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
custom_hooks = [
    dict(type='largekernel.StepEMAHook', momentum=1e-4, update_buffers=True, priority='ABOVE_NORMAL'),
    dict(type='largekernel.DynamicSparseHook', sparsity=0.4, granularity='element', include=None, init='snip',
         prune='magnitude', grow='random', prune_rate=0.3, update_interval=100),
]
