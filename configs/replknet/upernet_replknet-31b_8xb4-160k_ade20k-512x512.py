# UPerNet with a RepLKNet-31B backbone (ImageNet-1K pretrained), ADE20K, 512 crops: the 31B-1K
# row of the RepLKNet paper's ADE20K table (single- and multi-scale mIoU,
# parameters and FLOPs at 2048x512 in metafile.yml; multi-scale + flip: tools/test.py --tta).
# Official schedule vs this config: the official run is 40k iterations on 64 GPUs x 2 images (batch 128, 5.12M
# crops); mmseg's 160k recipe at a larger batch sees the same crops: 160k iterations at 8 GPUs x 4 images = 32,
# which this config states (the 400-iteration warm-up at batch 128 = the same 51.2k crops = 1600 iterations here).
# For the official batch, run 64 GPUs with train_dataloader.batch_size=2, train_cfg.max_iters=40000 and the
# warm-up / poly ends at 400 / 40000.
# Recipe (official config): drop path 0.5, AdamW lr 2e-4, betas (0.9, 0.999), wd 0.05 with no decay on the norm
# layers (mmengine's norm_decay_mult=0; no layer decay), poly power 1.0 to 0, linear warm-up from 1e-6, whole-image
# test at (2048, 512); the backbone's stage outputs have no extra norm (`norm_intermediate_features=False`).
# Pretrained backbone (official RepLKNet-31B_ImageNet-1K_224.pth, converted with
# tools/model_converters/convert.py replknet): --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = '../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512.py'

dims = [128, 256, 512, 1024]
model = dict(
    backbone=dict(type='largekernel.RepLKNet', arch='31B', drop_path_rate=0.5, out_norms=False,
                  norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
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
