_base_ = '../unireplknet-f_8xb128-accum4_in1k.py'
model = dict(backbone=dict(deploy=True))
