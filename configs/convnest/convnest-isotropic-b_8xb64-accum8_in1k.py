# ConvNeSt-B (isotropic): Table 10 "S/B" recipe: warm-up 50, stochastic depth 0.4, EMA 0.9999 (mmengine momentum
# 1e-4); see the A config. Total batch 4096 = 8 GPUs x 64 x 8 accumulation steps (per-GPU batch halved for memory;
# the paper gives only the total).
_base_ = './convnest-isotropic-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='B', drop_path_rate=0.4), head=dict(in_channels=384))
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
