# UPerNet with a UniConvNet-S backbone (ImageNet-1K pretrained): the UniConvNet supplementary's scaled-up ADE20K
# recipe (D.5, lr 6e-5, crop 512) as the T config, drop path 0.3 (ours).
_base_ = './upernet_uniconvnet-t_8xb2-160k_ade20k-512x512.py'

dims = [80, 160, 320, 640]
model = dict(
    backbone=dict(arch='S', drop_path_rate=0.3),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
