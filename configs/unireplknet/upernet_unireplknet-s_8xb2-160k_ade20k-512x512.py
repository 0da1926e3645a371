# UniRepLKNet-S (ImageNet-1K pretrained) UPerNet 160k, 512 crops: official `upernet_unireplknet_s_512_160k_ade20k`
# (paper Table 7; the published results are in metafile.yml; official init
# unireplknet_s_in1k_224_acc83.91). Drop path 0.3, activation checkpointing, layer decay 0.9 over
# num_layers 12; the rest as the T config.
_base_ = './upernet_unireplknet-t_8xb2-160k_ade20k-512x512.py'

dims = [96, 192, 384, 768]
model = dict(
    backbone=dict(arch='S', drop_path_rate=0.3, with_cp=True),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9, num_layers=12))
