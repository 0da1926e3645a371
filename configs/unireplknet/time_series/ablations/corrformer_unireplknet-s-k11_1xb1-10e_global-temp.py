# UniRepLKNet journal Table 11, time-series column, "UniRepLKNet-S (K=11)": MAE 7.751 (as published; see
# configs/unireplknet/metafile.yml). The main recipe with every large kernel at 11 (the official Corrformer.py's
# "max11_kernel_sizes"); everything else unchanged ("same preprocessing and training configurations", §4.2).
_base_ = ['../corrformer_unireplknet-s_1xb1-10e_global-temp.py']

model = dict(backbone=dict(arch=dict(kernel_sizes=((3,) * 3, (11,) * 3, (11, 3, 3) * 9, (11,) * 3))))
