# UniRepLKNet journal Table 11, audio column, "ConvNeXt-S (K=7)": 94.3 % Speech Commands V2 accuracy. The Speech
# Commands recipe of UniRepLKNet-S with mmpretrain's ConvNeXt-S (single-channel stem, pooled and normalised output,
# stochastic depth 0.4) as the backbone and the same LayerNorm + Linear head.
_base_ = '../unireplknet-s_1xb128-100e_speechcommands-v2.py'
model = dict(
    backbone=dict(_delete_=True, type='ConvNeXt', arch='small', in_channels=1, drop_path_rate=0.4, out_indices=(3,),
                  gap_before_final_norm=True),
)
