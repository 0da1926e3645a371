_base_ = '../unireplknet-b_in21k-pre_8xb64-accum8_in21k.py'
model = dict(backbone=dict(deploy=True))
