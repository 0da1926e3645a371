_base_ = '../unireplknet-l_in21k-pre_8xb128-accum4_in21k-192px.py'
model = dict(backbone=dict(deploy=True))
