# UniRepLKNet journal Table 3c, kernel sizes S1-S4 = 3 13 3 13: 81.6 top-1, 32.4M (the vanilla architecture, 100
# epochs).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(arch=dict(kernel_sizes=(
    (3,) * 3, (13,) * 3, (3,) * 9, (13,) * 3))))
