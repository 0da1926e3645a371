# UniRepLKNet journal Table 3c, kernel sizes S1-S4 = 3 3 13 13: 81.7 top-1, 32.8M (the vanilla architecture, 100
# epochs).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(arch=dict(kernel_sizes=(
    (3,) * 3, (3,) * 3, (13,) * 9, (13,) * 3))))
