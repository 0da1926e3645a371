# Deploy twin: ConvNeSt has nothing to re-parameterise; deploy=True builds the same structure (API uniformity).
_base_ = '../convnest-b_8xb64-accum8_in1k.py'
model = dict(backbone=dict(deploy=True))
