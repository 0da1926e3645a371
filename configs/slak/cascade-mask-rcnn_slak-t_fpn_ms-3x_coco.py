# SLaK-T (ImageNet-1K pretrained) Cascade Mask R-CNN 3x on COCO: the official SLaK detection recipe (box / mask AP as
# the SLaK paper's COCO table, also quoted in ShiftwiseConv Table 4; no size published; metafile.yml), written for
# mmdet 3.x on the shared bases:
# - model: Cascade Mask R-CNN with 4conv1fc GIoU heads (configs/_base_/models/cascade-mask-rcnn_lk_fpn.py); backbone
#   kernels 51/49/47/13 with N = 5, SyncBN kernel branches, drop path 0.4, one LayerNorm per output (norm0..norm3,
#   the official dense-prediction outputs);
# - data: flip + DETR-style AutoAugment, 2 images x 8 GPUs (configs/_base_/datasets/coco-instance_detr-aug.py);
# - optimiser: AdamW lr 2e-4, wd 0.05, ConvNeXt's layer-wise lr decay 0.7 over 6 layers (SLaK.layer_id, the
#   4-stage ConvNeXt mapping); 36 epochs, steps at 27 and 33 (configs/_base_/schedules/coco_adamw_3x.py).
# Paper vs code: the official backbone re-applies the sparsity masks of the loaded 40%-sparse checkpoint at every
# forward (a frozen sparsity pattern); here the pretrained weights are loaded as they are and fine-tuned dense.
_base_ = [
    '../_base_/models/cascade-mask-rcnn_lk_fpn.py',
    '../_base_/datasets/coco-instance_detr-aug.py',
    '../_base_/schedules/coco_adamw_3x.py',
    '../_base_/sparse_finetune.py',  # keep the checkpoint's sparsity (dense: custom_hooks.0.dense_finetune=True)
]

dims = [124, 249, 499, 998]  # int(1.3 x ConvNeXt-T's widths)
model = dict(
    backbone=dict(
        type='largekernel.SLaK',
        arch='T',
        kernel_sizes=(51, 49, 47, 13),
        small_kernel=5,
        drop_path_rate=0.4,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        out_norms=True),
    neck=dict(in_channels=dims))

optim_wrapper = dict(
    optimizer=dict(lr=2e-4),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7, num_layers=6),
)
