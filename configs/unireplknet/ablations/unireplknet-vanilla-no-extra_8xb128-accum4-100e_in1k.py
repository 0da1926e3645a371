# UniRepLKNet journal Table 3a, extra structure "None": 81.2 top-1, 31.3M (the vanilla architecture, 100 epochs).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(extra_structure='none'))
