# ConvNeSt-A (hierarchical), ImageNet-1K from scratch, 300 epochs at 224: paper appendix Table 9, column
# "ConvNeSt A/F/P/N". There is no official code, so the paper's table is the only source.
# Total batch 4096 = 8 GPUs x 128 x 4 accumulation steps; AdamW (0.9, 0.999) lr 4e-3, weight decay 0.05 (none on
# norms, biases and ResScale), cosine, no layer decay, no gradient clipping; label smoothing 0.1, RandAugment (9, 0.5),
# Mixup 0.8, CutMix 1.0, random erasing 0.25 (dataset base).
# A/F/P/N: warm-up 50 epochs, stochastic depth 0, EMA only for N (Table 9 prints A/F/P/N and the ConvNeXt
# re-implementation in one merged column: these values are read from it).
_base_ = [
    '../_base_/datasets/imagenet_bs128_convnext_224.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
# Classifier: backbone -> GAP -> LayerNorm (the backbone's norm3 in classification mode) -> Linear, as ConvNeXt's
# head; truncated-normal(0.02) init of every conv/linear. ResScale in every block, as the paper describes it; a
# third-party derivative uses it only in stages 3-4: backbone.res_scale_init_value=(None, None, 1.0, 1.0).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='largekernel.ConvNeSt', arch='A', drop_path_rate=0.0, out_indices=(3,),
                  gap_before_final_norm=True),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=160,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), init_cfg=None),
    init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
optim_wrapper = dict(accumulative_counts=4)
# Warm-up 50 epochs (Table 9), replacing the schedule base's 20.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=50, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=50, convert_to_iter_based=True),
]
