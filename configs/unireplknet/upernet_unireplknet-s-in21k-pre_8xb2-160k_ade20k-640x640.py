# UniRepLKNet-S (ImageNet-22K pretrained) UPerNet 160k, 640 crops: official
# `upernet_unireplknet_s_in22k_640_160k_ade20k`
# (paper Table 7; published results in metafile.yml). Training scale (2560, 640) with 640 crops, test scale
# (2560, 640). Paper vs code: the official config defines this 640 train pipeline but never assigns it to the training
# set, so under mmcv 1.x inheritance it trained on the base 512 pipeline; we train on 640 crops
# as the config name and the paper state. For the as-shipped behaviour inherit the 512 config and change only the test
# scale.
_base_ = './upernet_unireplknet-s_8xb2-160k_ade20k-512x512.py'

crop_size = (640, 640)
test_scale = (2560, 640)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=test_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_scale, keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
