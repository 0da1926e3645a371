# DeepLabv3 with a UniConvNet-A backbone (ImageNet-1K pretrained), ADE20K, 160k iterations, 512 crops: the
# lightweight UniConvNet ADE20K recipe of the UniConvNet supplementary (D.4: DeepLabv3 and PSPNet "following EMO",
# AdamW, 160k iterations, 8 GPUs; metafile.yml lists the model, the main paper's results table was not available).
# EMO's recipe (its public ADE20K configs), used here: mmseg's DeepLabv3 head (ASPP, dilations 1/12/24/36, 256
# channels) on the last stage (stride 32, no dilated backbone) and the FCN auxiliary head (loss 0.4) on stage 3;
# 8 GPUs x 4 images; AdamW lr 1.2e-4, wd 0.01, no weight decay on norms; poly power 0.9 to 0, no warm-up; mmseg's
# ADE20K pipeline, whole-image test at (2048, 512) (multi-scale + flip: tools/test.py --tta).
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_160k.py'
]
crop_size = (512, 512)
dims = [24, 48, 96, 192]
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(_delete_=True, type='largekernel.UniConvNet', arch='A', drop_path_rate=0.0, out_norms=True,
                  out_indices=(0, 1, 2, 3), init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    decode_head=dict(in_channels=dims[3], channels=256, num_classes=150),
    auxiliary_head=dict(in_channels=dims[2], num_classes=150),
)
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
train_dataloader = dict(batch_size=4)  # 8 GPUs x 4 images = 32
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.2e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0),
)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=160000)]
default_hooks = dict(checkpoint=dict(save_best='mIoU'))
auto_scale_lr = dict(enable=False, base_batch_size=32)
