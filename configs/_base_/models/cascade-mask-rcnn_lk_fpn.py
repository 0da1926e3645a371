# Cascade Mask R-CNN + FPN for a largekernel backbone, as the large-kernel papers' COCO 3x configs build it (official
# UniRepLKNet / RepLKNet / SLaK / ShiftwiseConv detection configs): mmdet's Cascade Mask R-CNN R50-FPN with the ResNet
# replaced, FPN 256 channels on all four stages (5 levels), and the three cascade box heads as 4conv1fc heads (SyncBN)
# with GIoU loss (weight 10) on decoded boxes. A family config sets the backbone (type, arch, ...) and
# neck.in_channels (the stage widths).
_base_ = 'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(type='FPN', out_channels=256, num_outs=5),
    roi_head=dict(bbox_head=[
        dict(
            type='ConvFCBBoxHead',
            num_shared_convs=4,
            num_shared_fcs=1,
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
            reg_class_agnostic=False,
            reg_decoded_bbox=True,
            norm_cfg=norm_cfg,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
        for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
    ]))
