_base_ = '../unireplknet-mini_1xb64_fashion-mnist.py'
model = dict(backbone=dict(deploy=True))
