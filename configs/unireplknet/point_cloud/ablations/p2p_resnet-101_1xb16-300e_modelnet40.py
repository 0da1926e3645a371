# UniRepLKNet journal Table 11, point-cloud column, "ResNet-101 (K=3)": ModelNet-40 OA 92.6 (vs 93.2 for
# UniRepLKNet-S, ../p2p_unireplknet-s_1xb16-300e_modelnet40.py). Same projection, head, data and schedule (Table 11
# keeps the preprocessing and training configuration); mmpretrain's ResNet-101 from scratch replaces the backbone,
# its last stage (2048 channels) feeding the multi-view head.
_base_ = '../p2p_unireplknet-s_1xb16-300e_modelnet40.py'
model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=101, out_indices=(3,)),
    head=dict(in_channels=2048))
