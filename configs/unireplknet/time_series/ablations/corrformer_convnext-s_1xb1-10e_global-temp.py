# UniRepLKNet journal Table 11, time-series column, "ConvNeXt-S (K=7)": MAE 7.641 (as published; see
# configs/unireplknet/metafile.yml). The main recipe with mmpretrain's ConvNeXt-S as the encoder: 1-channel input,
# the last stage's 768 x 6 x 6 map (with its LayerNorm), as UniRepLKNet-S's. Not published: the drop-path rate; we
# keep the recipe's 0.4 ("same training configurations", §4.2).
_base_ = ['../corrformer_unireplknet-s_1xb1-10e_global-temp.py']

model = dict(backbone=dict(
    _delete_=True, type='mmpretrain.ConvNeXt', arch='small', in_channels=1, drop_path_rate=0.4, out_indices=(3,),
    gap_before_final_norm=False, with_cp=True))
