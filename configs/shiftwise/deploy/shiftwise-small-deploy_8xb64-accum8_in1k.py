# Deploy (inference) form of ../shiftwise-small_8xb64-accum8_in1k.py (see shiftwise-tiny-deploy_8xb64-accum8_in1k.py).
_base_ = '../shiftwise-small_8xb64-accum8_in1k.py'
model = dict(backbone=dict(deploy=True))
custom_hooks = []
