# UPerNet with a UniConvNet-B backbone (ImageNet-1K pretrained): the UniConvNet supplementary's scaled-up ADE20K
# recipe (D.5, lr 6e-5, crop 512) as the T config, drop path 0.4 (ours).
_base_ = './upernet_uniconvnet-t_8xb2-160k_ade20k-512x512.py'

dims = [112, 224, 448, 896]
model = dict(
    backbone=dict(arch='B', drop_path_rate=0.4),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
