# UniRepLKNet-N: drop path 0.1, mixup/cutmix 0.5/0.5.
_base_ = './unireplknet-a_8xb128-accum4_in1k.py'
model = dict(
    backbone=dict(arch='N', drop_path_rate=0.1),
    head=dict(in_channels=640),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.5), dict(type='CutMix', alpha=0.5)]),
)
