# Deploy twin: ConvNeSt has nothing to re-parameterise; deploy=True builds the same structure (API uniformity).
_base_ = '../convnest-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(deploy=True))
