# UniRepLKNet journal Table 11, point-cloud column, "ConvNeXt-S (K=7)": ModelNet-40 OA 92.7 (vs 93.2 for
# UniRepLKNet-S, ../p2p_unireplknet-s_1xb16-300e_modelnet40.py). Same projection, head, data and schedule (Table 11
# keeps the preprocessing and training configuration); mmpretrain's ConvNeXt-S from scratch, with UniRepLKNet-S's
# drop path 0.4, replaces the backbone; its last stage map (768 channels, after ConvNeXt's output LayerNorm) feeds
# the multi-view head.
_base_ = '../p2p_unireplknet-s_1xb16-300e_modelnet40.py'
model = dict(
    backbone=dict(_delete_=True, type='ConvNeXt', arch='small', drop_path_rate=0.4, out_indices=(3,),
                  gap_before_final_norm=False),
    head=dict(in_channels=768))
