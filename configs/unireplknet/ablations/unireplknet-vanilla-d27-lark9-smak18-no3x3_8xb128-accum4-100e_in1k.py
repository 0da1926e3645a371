# UniRepLKNet journal Table 3d, N_3 = 27, 9 LarK + 18 SmaK w/o 3x3: 82.2 top-1, 55.5M (the vanilla architecture with
# depths 3-3-27-3, 100 epochs; kernel size 0: a SmaK block without its DW 3x3).
_base_ = './unireplknet-vanilla_8xb128-accum4-100e_in1k.py'
model = dict(backbone=dict(arch=dict(depths=(3, 3, 27, 3), kernel_sizes=(
    (3,) * 3, (13,) * 3, (13, 0, 0) * 9, (13,) * 3))))
