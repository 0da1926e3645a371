# UniRepLKNet-L, ImageNet-22K -> 1K at 384 (official command): 20 epochs, drop path 0.3, label smoothing 0.3, EMA
# (evaluated; timm decay 0.9999 = momentum 1e-4), layer decay 0.8. The paper's table gives smoothing 0.1/0.2
# (hard to read); the command's 0.3 produced the released weights.
_base_ = './unireplknet-s_in21k-pre_8xb64_in1k-384px.py'
model = dict(
    backbone=dict(arch='L', drop_path_rate=0.3),
    head=dict(in_channels=1536, loss=dict(label_smooth_val=0.3)),
)
train_cfg = dict(max_epochs=20)
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
