# Kinetics-400 clips for UniRepLKNet video recognition (UniRepLKNet §3.3 / §4.2, Table 9) in mmaction2's layout:
#   data/kinetics400/videos_train/*.mp4, data/kinetics400/videos_val/*.mp4,
#   data/kinetics400/kinetics400_{train,val}_list_videos.txt  (one "relative/path.mp4 label" per line)
# (mmaction2's tools/data/kinetics scripts produce it). Decoding with OpenCV (decord and PyAV are not needed).
# Sampling as the official video code (VideoMAE v2 loader): 16 frames at rate 4, 224 x 224; short videos are
# sampled up to their last frame, which then repeats (largekernel.SampleClipFrames, short_clip='repeat_last').
# Test: 5 temporal clips x 3 spatial crops (short side 224), softmax scores averaged (the head's
# average_clips='prob'). Training augmentation, official -> here: short side to 256 -> RandomResizedCrop
# (area 0.08-1, aspect 3/4-4/3) -> 224 x 224 -> horizontal flip; RandAugment rand-m7-n4-mstd0.5-inc1 (timm) ->
# torchvision's RandAugment(num_ops=4, magnitude=7 of 10 bins), one draw per clip as in the official code, without
# timm's magnitude noise; random erasing p=0.25 ("pixel" mode) -> mmaction2's RandomErasing with random pixels.
# Not reproduced: the official repeated augmentation (--num_sample 2), which mmaction2 offers only with decord.
dataset_type = 'VideoDataset'
data_root = 'data/kinetics400'
num_frames, frame_interval = 16, 4
file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='OpenCVInit', **file_client_args),
    dict(type='largekernel.SampleClipFrames', clip_len=num_frames, frame_interval=frame_interval, num_clips=1),
    dict(type='OpenCVDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='TorchVisionWrapper', op='RandAugment', num_ops=4, magnitude=7, num_magnitude_bins=11),
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0), aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='OpenCVInit', **file_client_args),
    dict(type='largekernel.SampleClipFrames', clip_len=num_frames, frame_interval=frame_interval, num_clips=1,
         test_mode=True),
    dict(type='OpenCVDecode'),
    dict(type='Resize', scale=(-1, 224)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='OpenCVInit', **file_client_args),
    dict(type='largekernel.SampleClipFrames', clip_len=num_frames, frame_interval=frame_interval, num_clips=5,
         test_mode=True),
    dict(type='OpenCVDecode'),
    dict(type='Resize', scale=(-1, 224)),
    dict(type='ThreeCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, ann_file=f'{data_root}/kinetics400_train_list_videos.txt',
                 data_prefix=dict(video=f'{data_root}/videos_train'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=f'{data_root}/kinetics400_val_list_videos.txt',
                 data_prefix=dict(video=f'{data_root}/videos_val'), pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=f'{data_root}/kinetics400_val_list_videos.txt',
                 data_prefix=dict(video=f'{data_root}/videos_val'), pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
