# UniRepLKNet-P: drop path 0.1, mixup/cutmix 0.3/0.3.
_base_ = './unireplknet-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='P', drop_path_rate=0.1), head=dict(in_channels=512))
