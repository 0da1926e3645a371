# UPerNet with a UniRepLKNet-T backbone (ImageNet-1K pretrained), ADE20K, 160k iterations, 512 crops: the official
# `upernet_unireplknet_t_512_160k_ade20k` recipe (paper Table 7; the published results are
# in metafile.yml) written for mmseg 1.x on the shared recipe
# ../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512.py
# (multi-scale + flip test for the MS column: tools/test.py --tta):
# - model: mmseg's UPerNet R50 with the backbone replaced (its `pretrained` is cleared); UPerHead 512 channels, pool
#   scales 1/2/3/6, dropout 0.1; auxiliary FCNHead (256 channels, loss weight 0.4) on output 2; SyncBN in the heads;
# - backbone: SyncBN in every block, drop path 0.2, no activation checkpointing for T (S/B/L use it), outputs of all
#   four stages through their own LayerNorms (norm0..norm3);
# - data: mmseg's ADE20K pipeline (resize to (2048, 512) x ratio 0.5-2.0, random crop 512 with cat_max_ratio 0.75, flip,
#   photometric distortion); 2 images per GPU x 8 GPUs = 16. Test: keep-ratio resize to (2048, 512), then resize to a
#   multiple of 32, whole-image inference, single scale (official test pipeline);
# - optimiser: AdamW lr 1e-4, betas (0.9, 0.999), wd 0.05, no clipping; layer-wise decay 1.0 over num_layers 9 for T
#   (official comment: "decay_rate of 0.9 or 1.0 makes almost no difference"), 0.9 / 12 for S and up;
# - schedule: poly (power 1, min 0) over 160k iterations with a 1500-iteration linear warm-up from 1e-6 (both
#   schedulers start at 0 and multiply, as mmcv 1.x's warm-up did); validation / checkpoint every 4000 iterations,
#   keep 20, keep the best mIoU.
# Pretrained backbone (official: unireplknet_t_in1k_224_acc83.21.pth, converted with
# tools/model_converters/unireplknet_to_largekernel.py): --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = '../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512.py'

dims = [80, 160, 320, 640]
model = dict(
    backbone=dict(
        type='largekernel.UniRepLKNet',
        arch='T',
        drop_path_rate=0.2,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        conv_impl='native',  # official: attempt_use_lk_impl=False
        with_cp=False,
        out_norms=True),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=1.0, num_layers=9))
