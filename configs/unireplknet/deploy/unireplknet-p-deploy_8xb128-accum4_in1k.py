_base_ = '../unireplknet-p_8xb128-accum4_in1k.py'
model = dict(backbone=dict(deploy=True))
