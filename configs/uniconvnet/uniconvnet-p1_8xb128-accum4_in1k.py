# UniConvNet-P1, ImageNet-1K from scratch with the weak recipe (supp. Table 11; see uniconvnet-a_8xb128-accum4_in1k.py),
# drop path 0.05. The official command passes --mixup 0 --cutmix 0 --reprob 0 (paper and code agree).
_base_ = './uniconvnet-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='P1', drop_path_rate=0.05), head=dict(in_channels=256))
