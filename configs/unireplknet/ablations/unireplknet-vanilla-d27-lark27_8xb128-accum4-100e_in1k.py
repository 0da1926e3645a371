# UniRepLKNet journal Table 3d, N_3 = 27, 27 LarK: 82.3 top-1, 56.7M (the vanilla architecture with depths 3-3-27-3,
# 100 epochs; kernel size 0: a SmaK block without its DW 3x3).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(arch=dict(depths=(3, 3, 27, 3), kernel_sizes=(
    (3,) * 3, (13,) * 3, (13,) * 27, (13,) * 3))))
