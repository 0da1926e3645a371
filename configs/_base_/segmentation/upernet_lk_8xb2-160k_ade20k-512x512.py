# The UPerNet ADE20K 160k AdamW recipe shared by the large-kernel families (the official UniRepLKNet
# `upernet_unireplknet_*_512_160k_ade20k` recipe, written for mmseg 1.x). A family config sets the backbone
# (`type`, `arch`, drop path, ...), the head widths, and overrides lr / layer decay / test mode where its paper
# differs:
# - model: mmseg's UPerNet R50 with the backbone slot emptied (its `pretrained` cleared); UPerHead 512 channels, pool
#   scales 1/2/3/6, dropout 0.1; auxiliary FCNHead (256 channels, loss weight 0.4) on output 2; SyncBN in the heads
#   and the backbone; all four stage outputs; whole-image inference;
# - data: mmseg's ADE20K pipeline (resize to (2048, 512) x ratio 0.5-2.0, random crop 512 with cat_max_ratio 0.75,
#   flip, photometric distortion); 2 images per GPU x 8 GPUs = 16. Test: keep-ratio resize to (2048, 512), then
#   resize to a multiple of 32, single scale;
# - multi-scale + flip test (`tools/test.py --tta`, the papers' "MS" columns): mmseg's SegTTAModel over the test
#   scale x 0.5, 0.75, ..., 1.75 (mmseg 0.x MultiScaleFlipAug semantics: the ratios scale (2048, 512), not the
#   original image), each plain and flipped;
# - optimiser: AdamW lr 1e-4, betas (0.9, 0.999), wd 0.05, no clipping, largekernel's layer-decay constructor (no
#   weight decay on 1-D parameters and biases; rate 1.0 = none, a family sets its own);
# - schedule: poly (power 1, min 0) over 160k iterations with a 1500-iteration linear warm-up from 1e-6 (both
#   schedulers start at 0 and multiply, as mmcv 1.x's warm-up did); validation / checkpoint every 4000 iterations,
#   keep 20, keep the best mIoU.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_160k.py'
]
crop_size = (512, 512)
test_scale = (2048, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        _delete_=True,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150),
    test_cfg=dict(mode='whole'),
)

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

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0, num_layers=12),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=160000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=4000)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=20, save_best='mIoU'))
auto_scale_lr = dict(enable=False, base_batch_size=16)
