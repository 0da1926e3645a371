# UniRepLKNet journal Table 3b, re-parameterisation of the 13x13 layers "Same kernel size" (k = 5, 7, 3, 3, 3; r = 1):
# 81.55 top-1 (the vanilla architecture, 100 epochs).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(drb_variant='same_kernel'))
