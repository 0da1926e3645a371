# RepLKNet image classifier for mmpretrain, as the official model: backbone -> BN (the backbone's norm3, a BatchNorm
# before pooling) -> GAP (the neck) -> Linear. Official initialisation = PyTorch defaults (no init_cfg anywhere;
# mmpretrain's own RepLKNet uses Kaiming + BN weight 1 instead). SyncBN everywhere, the official default
# (use_sync_bn=True); mmengine reverts it to BN in non-distributed runs.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='largekernel.RepLKNet', arch='31B', drop_path_rate=0.5, out_indices=(3,), out_norms=True,
                  gap_before_final_norm=False, norm_cfg=dict(type='SyncBN')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=1024,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), init_cfg=None),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
