# UniConvNet image classifier for mmpretrain: backbone -> GAP -> LayerNorm (the backbone's norm3 in classification
# mode = the official head LN) -> Linear, as the official model. Truncated-normal(0.02) init of every conv/linear;
# the backbone re-initialises its DCNv3 offset/mask (zero) and projections (Xavier) itself. Label smoothing 0.1.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='largekernel.UniConvNet', arch='T', drop_path_rate=0.2, layer_scale_init_value=1e-6,
                  out_indices=(3,), gap_before_final_norm=True),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=512,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), init_cfg=None),
    init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
