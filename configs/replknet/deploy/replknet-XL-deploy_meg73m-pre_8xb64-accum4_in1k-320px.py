# Deploy twin: evaluate a deploy-form checkpoint (replknet_to_largekernel.py --deploy, or switch_to_deploy()).
_base_ = '../replknet-XL_meg73m-pre_8xb64-accum4_in1k-320px.py'
model = dict(backbone=dict(deploy=True))
