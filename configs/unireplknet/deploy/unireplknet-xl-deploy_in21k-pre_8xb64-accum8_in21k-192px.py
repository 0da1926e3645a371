_base_ = '../unireplknet-xl_in21k-pre_8xb64-accum8_in21k-192px.py'
model = dict(backbone=dict(deploy=True))
