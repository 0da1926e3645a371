# Deploy twin: UniConvNet has nothing to re-parameterise; deploy=True builds the same structure (API uniformity).
_base_ = '../uniconvnet-b_in1k-pre_8xb64_in1k-384px.py'
model = dict(backbone=dict(deploy=True))
