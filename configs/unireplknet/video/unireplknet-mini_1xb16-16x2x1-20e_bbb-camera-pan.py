# Small-data check of the video pipeline on 2 CPU cores: the committed data/bbb_camera_pan clips (real video, Big Buck
# Bunny, CC BY 3.0; 4 classes: the direction of a camera pan, 240 training / 100 validation clips of 32 frames at
# 40 x 40, Kinetics-400 list layout; see its README.md). Chance is 25%; one frame carries no information on the
# direction, only the order of the frames does.
# Same model structure as the Kinetics-400 recipe (unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py): the
# clip of 16 frames (every 2nd frame) of 32 x 32 becomes one 3 x 128 x 128 map by the official memory reshape, in
# front of a small UniRepLKNet (13 x 13 Dilated Reparam Blocks in stage 2, whose map is 16 x 16); Recognizer3D,
# TimeSformerHead, 'prob' averaging over the test views (2 clips x 3 crops). Differences for the small data: no
# mixup / cutmix, no RandAugment / erasing and no flip (a flip would swap "left" and "right"); fp32, one lr.
_base_ = ['./unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py']

num_classes = 4
model = dict(
    backbone=dict(
        embedder=dict(num_frames=16, layout='reshape'),
        backbone=dict(arch=dict(_delete_=True, depths=(1, 1, 2, 1), dims=(24, 48, 96, 192),
                                kernel_sizes=((3,), (13,), (7, 3), (3,))),
                      drop_path_rate=0.0)),
    cls_head=dict(num_classes=num_classes, in_channels=192, label_smooth_eps=0.1, topk=(1,)),
    data_preprocessor=dict(blending=None),
    test_cfg=dict(_delete_=True),
)

data_root = 'data/bbb_camera_pan'
sampling = dict(type='largekernel.SampleClipFrames', clip_len=16, frame_interval=2)
train_pipeline = [
    dict(type='OpenCVInit', io_backend='disk'),
    dict(**sampling, num_clips=1),
    dict(type='OpenCVDecode'),
    dict(type='RandomCrop', size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='OpenCVInit', io_backend='disk'),
    dict(**sampling, num_clips=1, test_mode=True),
    dict(type='OpenCVDecode'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='OpenCVInit', io_backend='disk'),
    dict(**sampling, num_clips=2, test_mode=True),
    dict(type='OpenCVDecode'),
    dict(type='CenterCrop', crop_size=(40, 32)),  # (w, h): the middle 32 rows; ThreeCrop then moves along the width
    dict(type='ThreeCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
dataset = dict(type='VideoDataset', data_prefix=dict(video=data_root))
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(**dataset, ann_file=f'{data_root}/bbb_camera_pan_train_list_videos.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=25, num_workers=0, persistent_workers=False,
    dataset=dict(**dataset, ann_file=f'{data_root}/bbb_camera_pan_val_list_videos.txt', pipeline=val_pipeline,
                 test_mode=True))
test_dataloader = dict(
    batch_size=10, num_workers=0, persistent_workers=False,
    dataset=dict(**dataset, ann_file=f'{data_root}/bbb_camera_pan_val_list_videos.txt', pipeline=test_pipeline,
                 test_mode=True))
val_evaluator = dict(type='AccMetric', metric_list=('top_k_accuracy', 'mean_class_accuracy'), metric_options=dict(
    top_k_accuracy=dict(topk=(1,))))
test_evaluator = val_evaluator

max_epochs, warmup_epochs = 20, 1
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=1, val_interval=5)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=5, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
