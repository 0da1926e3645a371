# Deploy (inference) form of slak-t_8xb128-accum4_in1k.py: BNs folded, the 5x5 kernel merged into the K x 5 strip,
# so each block runs two strip convolutions. Load a checkpoint converted with --deploy (or re-parameterised).
_base_ = '../slak-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(deploy=True))
