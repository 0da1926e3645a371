# Deploy twin: UniConvNet has nothing to re-parameterise; deploy=True builds the same structure (API uniformity).
_base_ = '../uniconvnet-xl_8xb64-accum8_in21k.py'
model = dict(backbone=dict(deploy=True))
