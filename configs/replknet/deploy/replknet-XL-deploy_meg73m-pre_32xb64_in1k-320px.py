# Deploy twin: evaluate a deploy-form checkpoint (replknet_to_largekernel.py --deploy, or switch_to_deploy()).
_base_ = '../replknet-XL_meg73m-pre_32xb64_in1k-320px.py'
model = dict(backbone=dict(deploy=True))
