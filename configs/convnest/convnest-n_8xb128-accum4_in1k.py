# ConvNeSt-N (hierarchical): Table 9 "A/F/P/N" recipe (warm-up 50, stochastic depth 0) with EMA 0.9999 (the only
# one of A/F/P/N with EMA); see the A config. timm's EMA decay 0.9999 = mmengine momentum 1e-4.
_base_ = './convnest-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='N'), head=dict(in_channels=320))
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
