# UPerNet with a UniConvNet-L backbone (ImageNet-22K pretrained), ADE20K, 160k iterations, 640 crops: the UniConvNet
# supplementary's scaled-up ADE20K recipe for L (D.5: AdamW lr 2e-5, crop 640, batch 16, poly power 1.0) on the shared
# 640 recipe ../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-640x640.py (test at (2560, 640)); as the T config
# otherwise, drop path 0.4 (ours).
_base_ = '../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-640x640.py'

dims = [160, 320, 640, 1280]
model = dict(
    backbone=dict(type='largekernel.UniConvNet', arch='L', drop_path_rate=0.4, out_norms=True),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
optim_wrapper = dict(optimizer=dict(lr=2e-5))
