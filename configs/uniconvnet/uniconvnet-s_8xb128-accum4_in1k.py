# UniConvNet-S, ImageNet-1K from scratch with the strong recipe (supp. Table 11; see
# uniconvnet-n0_8xb128-accum4_in1k.py), drop path 0.4.
_base_ = './uniconvnet-n0_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='S', drop_path_rate=0.4), head=dict(in_channels=640))
