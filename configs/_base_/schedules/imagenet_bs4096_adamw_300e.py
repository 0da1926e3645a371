# ConvNeXt-codebase schedule: AdamW (eps 1e-8), lr 4e-3 for a total batch of 4096 (scale linearly with
# --auto-scale-lr), weight decay 0.05 off for 1-D parameters and biases, linear warm-up then per-iteration cosine
# to 1e-6, 300 epochs. Warm-up: the ConvNeXt main.py default of 20 epochs, which the official commands of every
# family run with; papers that print another value say so in their own configs.
warmup_epochs = 20
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=warmup_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=4096)
