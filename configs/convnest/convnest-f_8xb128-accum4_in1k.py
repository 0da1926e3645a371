# ConvNeSt-F (hierarchical): Table 9 "A/F/P/N" recipe (warm-up 50, stochastic depth 0, no EMA); see the A config.
_base_ = './convnest-a_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='F'), head=dict(in_channels=192))
