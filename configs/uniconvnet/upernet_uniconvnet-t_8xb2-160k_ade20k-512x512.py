# UPerNet with a UniConvNet-T backbone (ImageNet-1K pretrained), ADE20K, 160k iterations, 512 crops: the scaled-up
# UniConvNet ADE20K recipe of the UniConvNet supplementary (D.5; metafile.yml lists the model, the main paper's
# results table was not available) on the shared ../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512.py:
# batch 16 (8 GPUs x 2), AdamW lr 6e-5 (N2/N3/T/S/B), poly power 1.0, 160k iterations, crop 512 (supplementary D.5).
# Not stated there, ours: wd 0.05, no layer decay, the 1500-iteration warm-up, drop path 0.2 (T; N2/N3 0.1, S 0.3,
# B 0.4), whole-image test at (2048, 512) (multi-scale + flip: tools/test.py --tta). UniConvNet has no BatchNorm.
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = '../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512.py'

dims = [64, 128, 256, 512]
model = dict(
    backbone=dict(type='largekernel.UniConvNet', arch='T', drop_path_rate=0.2, out_norms=True),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
optim_wrapper = dict(optimizer=dict(lr=6e-5))
