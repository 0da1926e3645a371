# The official forecasting schedule (Corrformer's, kept by UniRepLKNet): Adam, lr 1e-4, at most 10 epochs, the
# learning rate halved after every epoch ("type1"), validation MSE every epoch, early stop after 3 epochs without a
# better one, and the best-validation checkpoint is the one tested.
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = [dict(type='ExponentialLR', gamma=0.5, by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1, save_best='forecast/mse', rule='less'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [dict(type='EarlyStoppingHook', monitor='forecast/mse', rule='less', patience=3)]
default_scope = 'mmengine'
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
randomness = dict(seed=2021, deterministic=False)  # the official run.py's fix_seed
log_level = 'INFO'
load_from = None
resume = False
