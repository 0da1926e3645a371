# UniRepLKNet-L ImageNet-22K pre-training at 192 (official command; "like InternImage"), total batch 4096 =
# 8 x 128 x 4 (official: 16 x 64 x 4). LR: 1e-3 as the official command that produced the released weights; the
# paper's Table 17 prints 4e-3: --cfg-options optim_wrapper.optimizer.lr=4e-3
_base_ = './unireplknet-s_in21k-pre_8xb64-accum8_in21k.py'
model = dict(backbone=dict(arch='L', drop_path_rate=0.1), head=dict(in_channels=1536))
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=192, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1e-3), accumulative_counts=4)
