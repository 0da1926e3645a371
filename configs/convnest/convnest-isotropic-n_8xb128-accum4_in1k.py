# ConvNeSt-N (isotropic): Table 10 "A/F/P/N/T" recipe (warm-up 50, stochastic depth 0.1, no EMA); see the A config.
_base_ = './convnest-isotropic-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='N'), head=dict(in_channels=156))
