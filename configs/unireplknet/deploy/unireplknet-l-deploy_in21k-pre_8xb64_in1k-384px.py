_base_ = '../unireplknet-l_in21k-pre_8xb64_in1k-384px.py'
model = dict(backbone=dict(deploy=True))
