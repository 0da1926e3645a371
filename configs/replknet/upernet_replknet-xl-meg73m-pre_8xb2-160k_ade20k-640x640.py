# UPerNet with a RepLKNet-XL backbone (MegData-73M pretrained), ADE20K, 640 crops: the XL
# (MegData-73M) 640 row of the RepLKNet paper's ADE20K table (results, parameters and
# FLOPs in metafile.yml; multi-scale + flip: tools/test.py --tta).
# Official schedule: 160k iterations with a 1500-iteration warm-up at mmseg's batch of 8 GPUs x 2 images (this
# config). Drop path 0.5; every stage output through its BatchNorm (official `norm_intermediate_features=True`);
# input normalised with mean = std = 127.5 as in the XL pretraining; the rest as the 31B 22K 640 config (AdamW
# 2e-4, no decay on norms, sliding-window test 640 / 426).
# Pretrained backbone: the official RepLKNet-XL_MegData73M_ImageNet1K_320.pth (init_cfg.checkpoint=PATH).
_base_ = './upernet_replknet-31b-in21k-pre_8xb4-160k_ade20k-640x640.py'

dims = [256, 512, 1024, 2048]
model = dict(
    data_preprocessor=dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5]),
    backbone=dict(arch='XL', drop_path_rate=0.5, out_norms=True),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
train_dataloader = dict(batch_size=2)  # 8 GPUs x 2 images = 16
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=160000),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
