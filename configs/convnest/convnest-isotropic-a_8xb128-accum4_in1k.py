# ConvNeSt-A (isotropic, 16 x 16 patchify), ImageNet-1K from scratch, 300 epochs at 224: paper appendix Table 10,
# column "ConvNeSt A/F/P/N/T": warm-up 50 epochs, stochastic depth 0.1, no EMA. The paper says it
# adapted these small-model recipes from "Dropout reduces underfitting" (Liu et al. 2023b) but lists only the values
# below (no early dropout), so the table is followed.
# Total batch 4096 = 8 GPUs x 128 x 4 accumulation steps; AdamW (0.9, 0.999) lr 4e-3, weight decay 0.05 (none on
# norms, biases and ResScale), cosine, no layer decay, no gradient clipping; label smoothing 0.1, RandAugment (9, 0.5),
# Mixup 0.8, CutMix 1.0, random erasing 0.25 (dataset base).
_base_ = [
    '../_base_/datasets/imagenet_bs128_convnext_224.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
# Classifier: backbone (every block is a "stage"; out_indices=(-1,) is the last block) -> GAP -> LayerNorm (the
# backbone's out norm) -> Linear, as ConvNeXt-isotropic; truncated-normal(0.02) init of every conv/linear.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='largekernel.ConvNeStIsotropic', arch='A', drop_path_rate=0.1, out_indices=(-1,),
                  gap_before_final_norm=True),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=88,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), init_cfg=None),
    init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
optim_wrapper = dict(accumulative_counts=4)
# Warm-up 50 epochs (Table 10), replacing the schedule base's 20.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=50, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=50, convert_to_iter_based=True),
]
