# UPerNet with a UniConvNet-N3 backbone (ImageNet-1K pretrained): the UniConvNet supplementary's scaled-up ADE20K
# recipe (D.5, lr 6e-5, crop 512) as the T config, drop path 0.1 (ours).
_base_ = './upernet_uniconvnet-t_8xb2-160k_ade20k-512x512.py'

dims = [48, 96, 192, 384]
model = dict(
    backbone=dict(arch='N3', drop_path_rate=0.1),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
