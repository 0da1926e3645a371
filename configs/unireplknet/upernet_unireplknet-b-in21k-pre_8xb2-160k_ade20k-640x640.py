# UniRepLKNet-B (ImageNet-22K pretrained) UPerNet 160k, 640 crops: official
# `upernet_unireplknet_b_in22k_640_160k_ade20k`
# (paper Table 7; the published results are in metafile.yml; official init
# unireplknet_b_in22k_to_in1k_384_acc87.40). Drop path 0.3, layer decay 0.9 / 12; the rest as the S 640 config.
_base_ = './upernet_unireplknet-s-in21k-pre_8xb2-160k_ade20k-640x640.py'

dims = [128, 256, 512, 1024]
model = dict(
    backbone=dict(arch='B', drop_path_rate=0.3),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
