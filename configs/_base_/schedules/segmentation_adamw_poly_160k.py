# The AdamW + poly schedule of the large-kernel segmentation recipes: AdamW lr 1e-4, betas (0.9, 0.999), wd 0.05, no
# clipping, largekernel's layer-decay constructor (no weight decay on 1-D parameters and biases; rate 1.0 = no decay,
# a config sets its own); poly (power 1, min 0) over 160k iterations with a 1500-iteration linear warm-up from 1e-6
# (both schedulers start at 0 and multiply, as mmcv 1.x's warm-up did); validation / checkpoint every 4000
# iterations, keep 20, keep the best mIoU; the lr is stated for 8 GPUs x 2 images.
_base_ = 'mmseg::_base_/schedules/schedule_160k.py'

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0, num_layers=12),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=160000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=4000)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=20, save_best='mIoU'))
auto_scale_lr = dict(enable=False, base_batch_size=16)
