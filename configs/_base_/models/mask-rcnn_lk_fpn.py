# Mask R-CNN + FPN for a largekernel backbone: mmdet's Mask R-CNN R50-FPN with the ResNet replaced and FPN (256
# channels, 5 levels) on all four stages, as ConvNeXt's and InternImage's COCO configs. A family config sets the
# backbone (type, arch, ...) and neck.in_channels (the stage widths).
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'

model = dict(
    backbone=dict(
        _delete_=True,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(type='FPN', out_channels=256, num_outs=5))
