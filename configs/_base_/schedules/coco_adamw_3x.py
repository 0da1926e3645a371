# AdamW 3x (36-epoch) COCO schedule of the large-kernel and ConvNeXt detection recipes: AdamW lr 1e-4, betas (0.9,
# 0.999), weight decay 0.05, no gradient clipping; 500-iteration linear warm-up from 0.001, lr x0.1 at epochs 27 and 33;
# checkpoint every epoch, keep 5 and the best (bbox mAP); lr given for a total batch of 16. A family config sets its lr
# and, where its recipe has one, the layer-wise decay (largekernel.LayerDecayOptimWrapperConstructor).
# (with mmdet's default runtime, whose checkpoint hook this schedule sets)
_base_ = ['mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py']

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
)

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=5, save_best='auto'))
auto_scale_lr = dict(base_batch_size=16)
