# UniConvNet-N1, ImageNet-1K from scratch with the strong recipe (supp. Table 11; see
# uniconvnet-n0_8xb128-accum4_in1k.py), drop path 0.1.
_base_ = './uniconvnet-n0_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='N1', drop_path_rate=0.1), head=dict(in_channels=384))
