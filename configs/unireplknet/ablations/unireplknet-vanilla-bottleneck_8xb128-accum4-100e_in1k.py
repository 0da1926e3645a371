# UniRepLKNet journal Table 3a, extra structure "(A) Bottleneck": 81.5 top-1, 32.9M (the vanilla architecture, 100
# epochs).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(extra_structure='bottleneck'))
