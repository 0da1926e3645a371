# Deploy twin: evaluate a deploy-form checkpoint (replknet_to_largekernel.py --deploy, or switch_to_deploy()).
_base_ = '../replknet-31B_8xb64-accum4_in1k.py'
model = dict(backbone=dict(deploy=True))
