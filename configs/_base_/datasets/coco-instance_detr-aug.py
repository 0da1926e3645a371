# COCO instances with the augmentation of DETR / Sparse R-CNN that the 3x large-kernel and ConvNeXt recipes train
# with: flip, then one of two policies: multi-scale resize (short side 480-800 step 32, long side at most 1333), or
# resize (400/500/600) -> absolute-range random crop 384-600 -> multi-scale resize. 2 images per GPU x 8 GPUs = 16.
# Test: mmdet's single scale (1333, 800).
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

multi_scales = [(short, 1333) for short in range(480, 801, 32)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=multi_scales, keep_ratio=True)],
            [
                dict(type='RandomChoiceResize', scales=[(400, 1333), (500, 1333), (600, 1333)], keep_ratio=True),
                dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600), allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=multi_scales, keep_ratio=True),
            ],
        ]),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))  # 8 GPUs x 2 images = 16
