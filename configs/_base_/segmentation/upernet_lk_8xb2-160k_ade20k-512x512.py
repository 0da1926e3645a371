# The UPerNet ADE20K 160k AdamW recipe shared by the large-kernel families (the official UniRepLKNet
# `upernet_unireplknet_*_512_160k_ade20k` recipe, written for mmseg 1.x). A family config sets the backbone
# (`type`, `arch`, drop path, ...), the head widths, and overrides lr / layer decay / test mode where its paper
# differs:
# - model: ../models/upernet_lk.py (mmseg's UPerNet with a largekernel backbone, SyncBN, whole-image inference);
# - data: mmseg's ADE20K pipeline (resize to (2048, 512) x ratio 0.5-2.0, random crop 512 with cat_max_ratio 0.75,
#   flip, photometric distortion); 2 images per GPU x 8 GPUs = 16. Test: keep-ratio resize to (2048, 512), then
#   resize to a multiple of 32, single scale;
# - multi-scale + flip test (`tools/test.py --tta`, the papers' "MS" columns): mmseg's SegTTAModel over the test
#   scale x 0.5, 0.75, ..., 1.75 (mmseg 0.x MultiScaleFlipAug semantics: the ratios scale (2048, 512), not the
#   original image), each plain and flipped;
# - optimiser and schedule: ../schedules/segmentation_adamw_poly_160k.py (AdamW 1e-4, wd 0.05, layer-decay
#   constructor; 1500-iteration warm-up + poly over 160k iterations).
_base_ = [
    '../models/upernet_lk.py', 'mmseg::_base_/datasets/ade20k.py', 'mmseg::_base_/default_runtime.py',
    '../schedules/segmentation_adamw_poly_160k.py'
]
crop_size = (512, 512)
test_scale = (2048, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_scale, keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
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
        [dict(type='ResizeToMultiple', size_divisor=32)],
        [dict(type='LoadAnnotations', reduce_zero_label=True)],
        [dict(type='PackSegInputs')],
    ]),
]
train_dataloader = dict(batch_size=2)  # 8 GPUs x 2 images = 16
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
