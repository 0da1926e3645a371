# ConvNeSt-T (hierarchical), ImageNet-1K, 300 epochs at 224: paper Table 9, column "ConvNeSt T/S/B": warm-up 20
# epochs, stochastic depth 0.1, EMA 0.9999 (mmengine momentum 1e-4); the rest as in the A config (common settings).
# Distilled from SLaK-T with NKD (Table 11, 83.3%): nkd_convnest-t_slak-t-teacher_8xb128-accum2_in1k.py.
_base_ = './convnest-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='T', drop_path_rate=0.1), head=dict(in_channels=384))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0, end=20, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=20, convert_to_iter_based=True),
]
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
