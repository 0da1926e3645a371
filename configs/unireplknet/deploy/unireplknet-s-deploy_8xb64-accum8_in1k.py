_base_ = '../unireplknet-s_8xb64-accum8_in1k.py'
model = dict(backbone=dict(deploy=True))
