# UPerNet with a SLaK-T backbone (ImageNet-1K pretrained, 51x51 kernels), ADE20K, 160k iterations, 512 crops: the
# SLaK-T row of the SLaK paper's ADE20K table (mIoU, parameters and FLOPs at 2048x512 in metafile.yml), as the
# official SLaK UPerNet recipe (its repository's segmentation configs), on the shared ConvNeXt-style recipe
# ../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512_slide.py:
# - backbone: kernels 51/49/47/13 with 5x5 strips and small kernel, width factor 1.3 (head widths 124 ... 998),
#   drop path 0.4, every stage output through its channels-first LayerNorm (norm0..norm3); the official backbone
#   re-applies the pretrained sparsity masks at every step (the pattern frozen during fine-tuning), ours fine-tunes
#   the loaded (sparse) weights densely;
# - optimiser: AdamW lr 1e-4, wd 0.05, SLaK's (ConvNeXt's) stage-wise lr decay 0.9 over 6 groups
#   (decay_type='stage_wise': downsampling layers 0.9^7, stage i 0.9^(6 - i), heads 1);
# - schedule: poly power 1.0 with a 1500-iteration warm-up, 160k iterations; official batch 4 GPUs x 4 images = 16,
#   here 8 GPUs x 2 (the same batch);
# - test: sliding window 512 / stride 341 (single scale; --tta for the multi-scale + flip test).
# Pretrained backbone (the official SLaK_tiny_checkpoint.pth, converted with tools/model_converters/convert.py slak):
# --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512_slide.py',
    '../_base_/sparse_finetune.py',  # keep the checkpoint's sparsity (dense: custom_hooks.0.dense_finetune=True)
]

dims = [124, 249, 499, 998]
model = dict(
    backbone=dict(type='largekernel.SLaK', arch='T', kernel_sizes=(51, 49, 47, 13), small_kernel=5,
                  drop_path_rate=0.4, out_norms=True, norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9, num_layers=6, decay_type='stage_wise'))
