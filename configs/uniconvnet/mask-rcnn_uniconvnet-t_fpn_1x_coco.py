# UniConvNet-T (ImageNet-1K pretrained) Mask R-CNN 1x on COCO, the setting of UniConvNet supplementary D.4 for the
# scaled-up models (mmdet's Mask R-CNN on an FPN over the four stages; no official config, and the supplementary
# publishes no COCO numbers: metafile.yml lists the row without results):
# - data and schedule as D.4: single-scale training, short side 800 and long side at most 1333 (mmdet's COCO pipeline),
#   12 epochs, steps at 8 and 11; test at short side 800; 2 images x 8 GPUs = 16 (D.4 gives batches "16 and 8"; which
#   recipe uses 8 is not said);
# - optimiser: AdamW, D.4's base lr 1e-4, wd 0.05, no layer-wise decay (InternImage's Mask R-CNN practice, which D.4
#   follows; not stated there), no gradient clipping;
# - backbone: one LayerNorm per output (norm0..norm3); drop path 0.2 for N2/N3/T, 0.3 for S, 0.4 for B/L (InternImage's
#   values by size; D.4 does not give them).
_base_ = [
    '../_base_/models/mask-rcnn_lk_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    '../_base_/schedules/coco_adamw_1x.py',
]

dims = [64, 128, 256, 512]
model = dict(
    backbone=dict(type='largekernel.UniConvNet', arch='T', drop_path_rate=0.2, out_norms=True),
    neck=dict(in_channels=dims))
