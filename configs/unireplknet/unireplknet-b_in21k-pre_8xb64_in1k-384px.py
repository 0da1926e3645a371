# UniRepLKNet-B, ImageNet-22K -> 1K at 384: as S (lr 5e-5, 30 epochs, drop path 0.2, layer decay 0.8).
_base_ = './unireplknet-s_in21k-pre_8xb64_in1k-384px.py'
model = dict(backbone=dict(arch='B'), head=dict(in_channels=1024))
