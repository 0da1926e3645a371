# The shared UPerNet ADE20K 160k recipe (./upernet_lk_8xb2-160k_ade20k-512x512.py) with the sliding-window test of
# the ConvNeXt-derived recipes (SLaK, ShiftwiseConv single-scale, ConvNeSt): 512 windows at stride 341 over the
# keep-ratio (2048, 512) resize, without the multiple-of-32 resize (mmseg's ADE20K test pipeline); the multi-scale
# test keeps the same windows.
_base_ = './upernet_lk_8xb2-160k_ade20k-512x512.py'

model = dict(test_cfg=dict(_delete_=True, mode='slide', crop_size=(512, 512), stride=(341, 341)))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(int(2048 * r), int(512 * r)), keep_ratio=True) for r in img_ratios],
        [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
         dict(type='RandomFlip', prob=1.0, direction='horizontal')],
        [dict(type='LoadAnnotations', reduce_zero_label=True)],
        [dict(type='PackSegInputs')],
    ]),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
