# SLaK image classifier for mmpretrain (official models/SLaK.py): backbone -> GAP -> LayerNorm (the backbone's norm3 in
# classification mode) -> Linear, as the official head; truncated-normal(0.02) init of every conv/linear, zero
# biases, head_init_scale 1 (ConvNeXt main.py default, not changed by the SLaK commands).
# The kernel BNs are SyncBN as in the official code (a module-global switch there); on one device SyncBN is BN.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='largekernel.SLaK', arch='T', kernel_sizes=(51, 49, 47, 13), small_kernel=5,
                  drop_path_rate=0.1, norm_cfg=dict(type='SyncBN'), out_indices=(3,), gap_before_final_norm=True),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=998,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), init_cfg=None),
    init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
