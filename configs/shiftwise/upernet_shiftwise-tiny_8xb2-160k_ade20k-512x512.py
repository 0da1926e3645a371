# UPerNet with an SW-tiny (ShiftwiseConv) backbone, ImageNet-1K pretrained, ADE20K, 160k iterations, 512 crops: the
# SW-tiny row of the ShiftwiseConv paper's Table 5 (single- and multi-scale mIoU, parameters and FLOPs at 2048x512 in
# metafile.yml), as the official `upernet_sw_tiny_512_160k_ade20k_ss` recipe on the shared recipe
# ../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512_slide.py:
# - backbone: equivalent kernels 51/49/47/13, small kernel 3, ghost ratio 0.23, 2 Rep branches, drop path 0.4,
#   SyncBN, outputs through their LayerNorms;
# - optimiser: AdamW lr 1e-4, wd 0.05, layer decay 1.0 (none) over 9 layers; poly power 1.0, 1500-iteration
#   warm-up from 1e-6, 160k iterations; official batch 4 GPUs x 4 images = 16, here 8 x 2 (the same batch);
# - test, SS column: sliding window 512 / stride 341 (the `_ss` config). MS column: tools/test.py --tta, mmseg's
#   multi-scale (0.5-1.75 x (2048, 512)) + flip test with the same windows. Paper vs code: the official `_ms` config
#   has its ratio list commented out and flip off (a single-scale whole-image test), so how the published MS number
#   was obtained is not recorded; --tta is the standard protocol the column name states.
# Pretrained backbone (official SW-tiny checkpoint, tools/model_converters/convert.py shiftwise):
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512_slide.py',
    '../_base_/sparse_finetune.py',  # keep the checkpoint's sparsity (dense: custom_hooks.0.dense_finetune=True)
]

dims = [80, 160, 320, 640]
model = dict(
    backbone=dict(type='largekernel.ShiftWise', arch='tiny', drop_path_rate=0.4, out_norms=True,
                  norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=1.0, num_layers=9))
