# UniRepLKNet-T: drop path 0.2, mixup/cutmix 0.8/1.0.
_base_ = './unireplknet-a_8xb128-accum4_in1k.py'
model = dict(
    backbone=dict(arch='T', drop_path_rate=0.2),
    head=dict(in_channels=640),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
