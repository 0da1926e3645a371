# UniRepLKNet-F: as A (drop path 0, mixup/cutmix 0.3/0.3), wider.
_base_ = './unireplknet-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='F'), head=dict(in_channels=384))
