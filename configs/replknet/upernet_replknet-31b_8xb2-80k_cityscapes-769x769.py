# UPerNet with a RepLKNet-31B backbone (ImageNet-1K pretrained), Cityscapes, 769 crops: the 31B-1K
# row of the RepLKNet paper's Cityscapes table (single- and multi-scale
# mIoU in metafile.yml; multi-scale + flip: tools/test.py --tta).
# Official schedule: 20k iterations on 64 GPUs x 1 image (1.28M crops), i.e. mmseg's 80k Cityscapes recipe at a
# larger batch: this config states the 8-GPU equivalent, 80k iterations at 8 GPUs x 2 images (the crops the name's
# "80k" refers to).
# Recipe: mmseg's Cityscapes 769x769 pipeline (resize (2049, 1025) x 0.5-2.0, 769 crops), 19 classes, sliding-
# window test 769 / stride 513 on the (2049, 1025) resize (mmseg's 769 recipe); AdamW lr 2e-4, wd 0.05, no decay on
# norms, poly power 1.0 (official config). Not in the official config, ours: drop path 0.5 and the 1500-iteration
# warm-up of the ADE20K recipe.
_base_ = [
    '../_base_/models/upernet_lk.py', 'mmseg::_base_/datasets/cityscapes_769x769.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/segmentation_adamw_poly_160k.py'
]
crop_size = (769, 769)
dims = [128, 256, 512, 1024]
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(type='largekernel.RepLKNet', arch='31B', drop_path_rate=0.5, out_norms=False,
                  norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=dims, num_classes=19),
    auxiliary_head=dict(in_channels=dims[2], num_classes=19),
    test_cfg=dict(_delete_=True, mode='slide', crop_size=crop_size, stride=(513, 513)),
)
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(int(2049 * r), int(1025 * r)), keep_ratio=True) for r in img_ratios],
        [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
         dict(type='RandomFlip', prob=1.0, direction='horizontal')],
        [dict(type='LoadAnnotations')],
        [dict(type='PackSegInputs')],
    ]),
]
train_dataloader = dict(batch_size=2)  # 8 GPUs x 2 images = 16
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=80000),
]
train_cfg = dict(max_iters=80000, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
