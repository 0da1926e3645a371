# UniRepLKNet-B ImageNet-22K pre-training: as S (224, lr 4e-3, drop path 0.1).
_base_ = './unireplknet-s_in21k-pre_8xb64-accum8_in21k.py'
model = dict(backbone=dict(arch='B'), head=dict(in_channels=1024))
