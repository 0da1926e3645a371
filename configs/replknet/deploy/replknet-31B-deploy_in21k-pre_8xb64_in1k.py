# Deploy twin: evaluate a deploy-form checkpoint (replknet_to_largekernel.py --deploy, or switch_to_deploy()).
_base_ = '../replknet-31B_in21k-pre_8xb64_in1k.py'
model = dict(backbone=dict(deploy=True))
