# ConvNeSt-S (isotropic): Table 10 "S/B" recipe: warm-up 50, stochastic depth 0.1, no EMA (the same values as
# A/F/P/N/T); see the A config.
_base_ = './convnest-isotropic-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='S'), head=dict(in_channels=192))
