# AdamW 1x (12-epoch) COCO schedule (InternImage / UniConvNet supplementary D.4): AdamW lr 1e-4, betas (0.9, 0.999),
# weight decay 0.05; mmdet's 500-iteration linear warm-up from 0.001, lr x0.1 at epochs 8 and 11; checkpoint every
# epoch, keep 3 and the best (bbox mAP); lr given for a total batch of 16.
# (with mmdet's default runtime, whose checkpoint hook this schedule sets)
_base_ = ['mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py']

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'))
auto_scale_lr = dict(base_batch_size=16)
