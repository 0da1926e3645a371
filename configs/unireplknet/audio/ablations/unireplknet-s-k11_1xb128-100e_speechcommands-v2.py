# UniRepLKNet journal Table 11, audio column, "UniRepLKNet-S (K=11)": 94.7 % Speech Commands V2 accuracy (K=13, the
# default UniRepLKNet-S: 98.5 %). Every 13 x 13 kernel of UniRepLKNet-S becomes 11 x 11 (with its 11 x 11 Dilated
# Reparam Block); the 3 x 3 blocks and the recipe are unchanged.
_base_ = '../unireplknet-s_1xb128-100e_speechcommands-v2.py'
model = dict(backbone=dict(arch=dict(_delete_=True, depths=(3, 3, 27, 3), dims=(96, 192, 384, 768), kernel_sizes=(
    (3,) * 3, (11,) * 3, (11, 3, 3) * 9, (11,) * 3))))
