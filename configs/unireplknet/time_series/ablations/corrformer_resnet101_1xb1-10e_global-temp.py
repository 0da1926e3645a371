# UniRepLKNet journal Table 11, time-series column, "ResNet-101 (K=3)": MAE 7.846 (as published; see
# configs/unireplknet/metafile.yml). The main recipe with mmpretrain's ResNet-101 as the encoder: 1-channel input,
# the last stage's 2048 x 6 x 6 map, reshaped in memory order to 96 memory steps of 768 (the official reshape).
# Not published: the drop-path rate; we keep the recipe's 0.4 ("same training configurations", §4.2).
_base_ = ['../corrformer_unireplknet-s_1xb1-10e_global-temp.py']

model = dict(backbone=dict(
    _delete_=True, type='mmpretrain.ResNet', depth=101, in_channels=1, drop_path_rate=0.4, out_indices=(3,),
    with_cp=True))
