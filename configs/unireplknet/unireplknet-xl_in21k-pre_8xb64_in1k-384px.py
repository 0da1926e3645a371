# UniRepLKNet-XL, ImageNet-22K -> 1K at 384: as L (official: 8 x 32 x 2 = 512 total).
_base_ = './unireplknet-l_in21k-pre_8xb64_in1k-384px.py'
model = dict(backbone=dict(arch='XL'), head=dict(in_channels=2048))
