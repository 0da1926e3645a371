# UniRepLKNet journal Table 3b, re-parameterisation of the 13x13 layers "None": 81.44 top-1 (the vanilla architecture,
# 100 epochs).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(drb_variant='none'))
