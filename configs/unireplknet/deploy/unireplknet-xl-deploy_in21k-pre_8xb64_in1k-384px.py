_base_ = '../unireplknet-xl_in21k-pre_8xb64_in1k-384px.py'
model = dict(backbone=dict(deploy=True))
