# UniRepLKNet-L (ImageNet-22K pretrained) UPerNet 160k, 640 crops: official
# `upernet_unireplknet_l_in22k_640_160k_ade20k`
# (paper Table 7; the published results are in metafile.yml; official init
# unireplknet_l_in22k_to_in1k_384_acc87.88). Drop path 0.4, layer decay 0.85 / 12; the rest as the S 640 config.
# (No XL config was released, though the paper reports XL-22K 640: ./upernet_unireplknet-xl-in21k-pre_... is ours.)
_base_ = './upernet_unireplknet-s-in21k-pre_8xb2-160k_ade20k-640x640.py'

dims = [192, 384, 768, 1536]
model = dict(
    backbone=dict(arch='L', drop_path_rate=0.4),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.85))
