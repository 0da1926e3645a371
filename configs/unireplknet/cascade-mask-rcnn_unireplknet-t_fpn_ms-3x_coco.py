# Cascade Mask R-CNN + FPN with a UniRepLKNet-T backbone (ImageNet-1K pretrained), COCO, 3x schedule: the official
# `casc_mask_rcnn_unireplknet_t_in1k_fpn_3x_coco` recipe (paper Table 6; the published results are
# in metafile.yml) written for mmdet 3.x:
# - model (configs/_base_/models/cascade-mask-rcnn_lk_fpn.py): mmdet's Cascade Mask R-CNN R50-FPN with the
#   backbone replaced; FPN 256 channels, 5 levels; the three cascade box heads are 4conv1fc heads (SyncBN) with GIoU
#   loss (weight 10) on decoded boxes;
# - backbone: SyncBN in every block, drop path 0.3, activation checkpointing (with_cp), outputs of all four stages,
#   each through its own LayerNorm (norm0..norm3, the official dense-prediction outputs);
# - data (configs/_base_/datasets/coco-instance_detr-aug.py): flip + DETR-style AutoAugment (multi-scale resize,
#   or resize -> random crop 384-600 -> multi-scale resize), 2 images per GPU x 8 GPUs = 16;
# - optimiser (configs/_base_/schedules/coco_adamw_3x.py): AdamW lr 1e-4, betas (0.9, 0.999), wd 0.05, no
#   gradient clipping, layer-wise lr decay 0.8 over ConvNeXt's 14 groups (num_layers 12; UniRepLKNet.layer_id
#   documents the mapping);
# - schedule: 36 epochs, lr x0.1 at epochs 27 and 33, 500-iteration linear warm-up from 0.001;
# - checkpoint every epoch, keep 5, keep the best (bbox mAP).
# The official code uses the plain K x K depthwise conv (attempt_use_lk_impl=False: "the batch size is very small");
# conv_impl='native' is the same choice here.
# Pretrained backbone: an ImageNet checkpoint of this project (or an official one converted with
# tools/model_converters/unireplknet_to_largekernel.py), e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/unireplknet-t_8xb128-accum4_in1k/epoch_300.pth
_base_ = [
    '../_base_/models/cascade-mask-rcnn_lk_fpn.py',
    '../_base_/datasets/coco-instance_detr-aug.py',
    '../_base_/schedules/coco_adamw_3x.py',
]

dims = [80, 160, 320, 640]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        type='largekernel.UniRepLKNet',
        arch='T',
        drop_path_rate=0.3,
        norm_cfg=norm_cfg,
        conv_impl='native',
        with_cp=True,
        out_norms=True),
    neck=dict(in_channels=dims))

optim_wrapper = dict(
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.8, num_layers=12),
)
