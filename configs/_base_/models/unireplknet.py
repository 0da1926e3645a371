# UniRepLKNet image classifier for mmpretrain: backbone -> GAP -> LayerNorm (the backbone's norm3 in
# classification mode) -> Linear, as the official head. Truncated-normal(0.02) init of every conv/linear.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='largekernel.UniRepLKNet', arch='T', drop_path_rate=0.2, out_indices=(3,),
                  gap_before_final_norm=True),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=640,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), init_cfg=None),
    init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
