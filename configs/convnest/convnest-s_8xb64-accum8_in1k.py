# ConvNeSt-S (hierarchical): Table 9 "T/S/B" recipe (warm-up 20, EMA 0.9999) with stochastic depth 0.4; see the T
# config. Total batch 4096 = 8 GPUs x 64 x 8 accumulation steps (per-GPU batch halved for memory; the paper gives
# only the total).
_base_ = './convnest-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='S', drop_path_rate=0.4), head=dict(in_channels=448))
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
