# UPerNet with a RepLKNet-31L backbone (ImageNet-22K pretrained), ADE20K, 640 crops: the 31L-22K
# 640 row of the RepLKNet paper's ADE20K table (results, parameters and
# FLOPs in metafile.yml; multi-scale + flip: tools/test.py --tta).
# Official schedule: 80k iterations on 64 GPUs x 1 image with an 800-iteration warm-up (5.12M crops); here the same
# crops as 160k iterations at 8 GPUs x 4 images, warm-up 1600. Drop path 0.3; the rest as the 31B 22K 640 config
# (sliding-window test 640 / 426).
# Pretrained backbone: the official RepLKNet-31L_ImageNet-22K-to-1K_384.pth (init_cfg.checkpoint=PATH).
_base_ = './upernet_replknet-31b-in21k-pre_8xb4-160k_ade20k-640x640.py'

dims = [192, 384, 768, 1536]
model = dict(
    backbone=dict(arch='31L', drop_path_rate=0.3),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
