# PSPNet with a UniConvNet-A backbone: the lightweight recipe of ./deeplabv3_uniconvnet-a_8xb4-160k_ade20k-512x512.py
# (UniConvNet supplementary D.4, following EMO) with mmseg's PSP head (pool scales 1/2/3/6, 256 channels) on the last
# stage in place of ASPP.
_base_ = './deeplabv3_uniconvnet-a_8xb4-160k_ade20k-512x512.py'

model = dict(decode_head=dict(_delete_=True, type='PSPHead', in_channels=192, in_index=3, channels=256,
                              pool_scales=(1, 2, 3, 6), dropout_ratio=0.1, num_classes=150,
                              norm_cfg=dict(type='SyncBN', requires_grad=True), align_corners=False,
                              loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
