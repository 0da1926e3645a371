# UniConvNet-A, ImageNet-1K from scratch: the WEAK recipe (supp. Table 11, D.1, "following EMO"): as the strong
# recipe (uniconvnet-n0_8xb128-accum4_in1k.py: 300 epochs, 224, lr 4e-3 at batch 4096, wd 0.05, 20 warm-up
# epochs, label smoothing 0.1, RandAugment, EMA 0.9999) but without Mixup, CutMix and random erasing.
# Paper vs code: Table 11 and Table 13 (77.0 = the weak result; no strong result) put A in the weak recipe, while
# the official TRAINING.md command for A omits "--mixup 0 --cutmix 0 --reprob 0" (strong defaults); we follow the
# paper. For the command's setting inherit uniconvnet-n0_8xb128-accum4_in1k.py with arch A instead.
_base_ = './uniconvnet-n0_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch='A', drop_path_rate=0.05), head=dict(in_channels=192), train_cfg=None)
bgr_mean = [103.53, 116.28, 123.675]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
