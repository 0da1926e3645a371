# Deploy (inference) form of ../shiftwise-tiny_8xb64-accum8_in1k.py: each SW operator has one merged group conv
# with its three post-shift BNs folded, the FFN BN, GRN bias and layer scale are folded into the second linear.
# Load a checkpoint re-parameterised with tools/model_converters/reparameterize.py (official checkpoints: convert
# with tools/model_converters/shiftwise_to_largekernel.py first). No sparse training in this form.
_base_ = '../shiftwise-tiny_8xb64-accum8_in1k.py'
model = dict(backbone=dict(deploy=True))
custom_hooks = []
