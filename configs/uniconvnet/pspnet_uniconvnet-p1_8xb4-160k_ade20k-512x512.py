# PSPNet with a UniConvNet-P1 backbone: the lightweight recipe of the A config (UniConvNet
# supplementary D.4, following EMO) with the P1 backbone.
_base_ = './pspnet_uniconvnet-a_8xb4-160k_ade20k-512x512.py'

dims = [32, 64, 128, 256]
model = dict(
    backbone=dict(arch='P1'),
    decode_head=dict(in_channels=dims[3]),
    auxiliary_head=dict(in_channels=dims[2]),
)
