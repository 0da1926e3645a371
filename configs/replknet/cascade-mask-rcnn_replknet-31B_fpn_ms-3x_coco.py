# RepLKNet-31B (ImageNet-1K pretrained) Cascade Mask R-CNN 3x on COCO: the official
# `RepLKNet-31B_1Kpretrain_cascade_mask_rcnn_3x_coco` (the official README's COCO table; box / mask AP, params and
# FLOPs at 1280x800 in metafile.yml), written for mmdet 3.x on the shared bases:
# - model: Cascade Mask R-CNN with 4conv1fc GIoU heads (configs/_base_/models/cascade-mask-rcnn_lk_fpn.py);
#   backbone with SyncBN, activation checkpointing (official use_checkpoint), drop path 0.6, the four stage outputs
#   straight into the FPN (official norm_intermediate_features=False: out_norms=False);
# - data: flip + DETR-style AutoAugment (configs/_base_/datasets/coco-instance_detr-aug.py), but 1 image per GPU as
#   the official samples_per_gpu=1 (8 GPUs x 1 = 8; the README's commands use 8 GPUs per node);
# - optimiser: AdamW lr 4e-4, wd 0.05, no weight decay on the BatchNorms (norm_decay_mult 0), no layer-wise decay;
#   36 epochs, steps at 27 and 33 (configs/_base_/schedules/coco_adamw_3x.py).
# Pretrained backbone: a converted official checkpoint (tools/model_converters/convert.py replknet SRC DST), e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=replknet-31B_in1k.pth
_base_ = [
    '../_base_/models/cascade-mask-rcnn_lk_fpn.py',
    '../_base_/datasets/coco-instance_detr-aug.py',
    '../_base_/schedules/coco_adamw_3x.py',
]

dims = [128, 256, 512, 1024]
model = dict(
    backbone=dict(
        type='largekernel.RepLKNet',
        arch='31B',
        drop_path_rate=0.6,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        with_cp=True,
        out_norms=False),
    neck=dict(in_channels=dims))
train_dataloader = dict(batch_size=1)  # official samples_per_gpu=1

optim_wrapper = dict(optimizer=dict(lr=4e-4), paramwise_cfg=dict(norm_decay_mult=0.0))
auto_scale_lr = dict(base_batch_size=8)
