# SSDLite 320x320 recipe of EMO (ICCV 2023) for light backbones, shared by the UniConvNet light variants
# (UniConvNet supp. D.4: "following EMO"). mmdet's SSDLite MobileNetV2 config (EMO's base, unchanged: SSDNeck and
# SSDHead with depthwise convs and ReLU6, SSD anchors of strides 16-320, Expand + MinIoURandomCrop + photometric
# distortion at 320x320, RepeatDataset x5 over 120 epochs = 600 effective epochs, cosine to 0 after a
# 500-iteration linear warm-up, 24 images per GPU x 8 GPUs = 192) with:
# - backbone: the family config's, its last two stages (strides 16 and 32) feeding the SSD neck, whose first two
#   widths are those stages' (the family config sets ``in_channels`` / ``out_channels``), nothing frozen;
# - optimiser: AdamW lr 1.2e-3 (EMO: 6 x 2e-4), betas (0.9, 0.999), wd 0.05, no weight decay on parameters whose
#   name contains 'norm', no gradient clipping (instead of mmdet's SGD 0.015).
# Batch: the UniConvNet supplement states "a batch size of 16" for both detectors; EMO's SSDLite configs (and the
# lr above) are for 192, which is kept here (auto_scale_lr base 192 rescales the lr for other batches).
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='largekernel.UniConvNet',
        out_indices=(2, 3),
        out_norms=True,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.2e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
