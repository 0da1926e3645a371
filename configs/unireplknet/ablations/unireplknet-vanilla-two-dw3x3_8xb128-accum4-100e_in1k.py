# UniRepLKNet journal Table 3a, extra structure "(C) Two DW 3x3": 81.3 top-1, 31.4M (the vanilla architecture, 100
# epochs).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(extra_structure='two_dw3x3'))
