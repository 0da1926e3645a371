# UniRepLKNet journal Table 11, audio column, "ResNet-101 (K=3)": 73.6 % Speech Commands V2 accuracy. The Speech
# Commands recipe of UniRepLKNet-S with mmpretrain's ResNet-101 (single-channel stem) as the backbone, global average
# pooling and the same LayerNorm + Linear head; stochastic depth 0.4 as UniRepLKNet-S (the table states no recipe
# per backbone).
_base_ = '../unireplknet-s_1xb128-100e_speechcommands-v2.py'
model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=101, in_channels=1, out_indices=(3,), drop_path_rate=0.4),
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(in_channels=2048),
)
