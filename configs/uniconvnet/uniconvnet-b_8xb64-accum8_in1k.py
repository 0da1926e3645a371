# UniConvNet-B, ImageNet-1K from scratch with the strong recipe (supp. Table 11; see
# uniconvnet-n0_8xb128-accum4_in1k.py), drop path 0.6; total batch 4096 = 8 GPUs x 64 x 8 accumulation steps.
_base_ = './uniconvnet-n0_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='B', drop_path_rate=0.6), head=dict(in_channels=896))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
