# UniRepLKNet-XL ImageNet-22K pre-training at 192: drop path 0.2, total batch 4096 = 8 x 64 x 8 (official:
# 32 x 32 x 4). LR 1e-3 (official command; paper Table 17: 4e-3, --cfg-options optim_wrapper.optimizer.lr=4e-3).
_base_ = './unireplknet-l_in21k-pre_8xb128-accum4_in21k-192px.py'
model = dict(backbone=dict(arch='XL', drop_path_rate=0.2), head=dict(in_channels=2048))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=8)
