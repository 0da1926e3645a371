# Deploy twin: evaluate a deploy-form checkpoint (replknet_to_largekernel.py --deploy, or switch_to_deploy()).
_base_ = '../replknet-31B_in21k-pre_8xb16-accum4_in1k-384px.py'
model = dict(backbone=dict(deploy=True))
