# mmseg's UPerNet R50 with the backbone slot emptied for a largekernel backbone (a config sets `type`, `arch`, ...):
# UPerHead 512 channels, pool scales 1/2/3/6, dropout 0.1; auxiliary FCNHead (256 channels, loss weight 0.4) on
# output 2; SyncBN in the heads (a backbone with BatchNorms sets its own norm_cfg); all four stage outputs;
# ADE20K's 150 classes; whole-image inference.
_base_ = 'mmseg::_base_/models/upernet_r50.py'

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150),
    test_cfg=dict(mode='whole'),
)
