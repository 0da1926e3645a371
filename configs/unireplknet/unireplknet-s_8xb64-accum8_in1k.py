# UniRepLKNet-S: drop path 0.4, mixup/cutmix 0.8/1.0; total batch 4096 = 8 GPUs x 64 x 8 (as the official command).
_base_ = './unireplknet-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='S', drop_path_rate=0.4), head=dict(in_channels=768))
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
