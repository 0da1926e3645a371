# UPerNet with a RepLKNet-31B backbone (ImageNet-22K pretrained), ADE20K, 640 crops: the 31B-22K
# 640 row of the RepLKNet paper's ADE20K table (results, parameters and
# FLOPs at 2560x640 in metafile.yml; multi-scale + flip: tools/test.py --tta).
# Official schedule: 40k iterations on 64 GPUs x 2 images; the same 5.12M crops are 160k iterations at 8 GPUs x 4
# images (this config; warm-up 400 -> 1600 iterations), as ./upernet_replknet-31b_8xb4-160k_ade20k-512x512.py.
# Recipe (official config): drop path 0.3; the 640 training pipeline ((2560, 640) x 0.5-2.0, 640 crops); sliding-
# window test, 640 windows at stride 426, on the (2560, 640) resize; optimiser as the 1K 31B config.
# Pretrained backbone: the official RepLKNet-31B_ImageNet-22K-to-1K_224.pth (init_cfg.checkpoint=PATH).
_base_ = '../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-640x640.py'

dims = [128, 256, 512, 1024]
model = dict(
    backbone=dict(type='largekernel.RepLKNet', arch='31B', drop_path_rate=0.3, out_norms=False,
                  norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
    test_cfg=dict(_delete_=True, mode='slide', crop_size=(640, 640), stride=(426, 426)),
)
train_dataloader = dict(batch_size=4)  # 8 GPUs x 4 images = 32
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1600),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=160000),
]
auto_scale_lr = dict(enable=False, base_batch_size=32)
