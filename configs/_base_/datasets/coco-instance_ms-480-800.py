# COCO instances with plain multi-scale training: short side drawn from 480-800, long side at most 1333, flip
# (mmdet's "ms" 3x recipe; UniConvNet supplementary D.4's 3x setting). 2 images per GPU x 8 GPUs = 16.
# Test: mmdet's single scale (1333, 800).
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=[(1333, 480), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))  # 8 GPUs x 2 images = 16
