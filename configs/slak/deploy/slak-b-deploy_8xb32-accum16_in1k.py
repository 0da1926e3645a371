# Deploy (inference) form of slak-b_8xb32-accum16_in1k.py: BNs folded, the 5x5 kernel merged into the K x 5 strip,
# so each block runs two strip convolutions. Load a checkpoint converted with --deploy (or re-parameterised).
_base_ = '../slak-b_8xb32-accum16_in1k.py'
model = dict(backbone=dict(deploy=True))
