# UniRepLKNet journal Table 11, point-cloud column, "UniRepLKNet-S (K=11)": ModelNet-40 OA 92.9 (vs 93.2 with
# K=13, the full recipe ../p2p_unireplknet-s_1xb16-300e_modelnet40.py). The same model, data and schedule; every
# 13 x 13 Dilated Reparam Block of UniRepLKNet-S becomes 11 x 11 (the paper's K; its branches follow the official
# 11 x 11 block: dilated 5 x 5 r1, 5 x 5 r2, 3 x 3 r3, r4, r5).
_base_ = '../p2p_unireplknet-s_1xb16-300e_modelnet40.py'
model = dict(backbone=dict(arch=dict(_delete_=True, depths=(3, 3, 27, 3), dims=(96, 192, 384, 768), kernel_sizes=(
    (3,) * 3, (11,) * 3, (11, 3, 3) * 9, (11,) * 3))))
