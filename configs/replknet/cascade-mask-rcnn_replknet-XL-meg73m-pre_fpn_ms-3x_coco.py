# RepLKNet-XL (MegData-73M pretrained) Cascade Mask R-CNN 3x: the official
# `RepLKNet-XL_MegData73Mpretrain_cascade_mask_rcnn_3x_coco` (the official README's COCO table; results, params and
# FLOPs in metafile.yml). As the 31B 1K config with the XL backbone, drop path 0.5, the official
# norm_intermediate_features=True (a BatchNorm on every output: out_norms=True), the MegData-73M normalisation
# (mean = std = 127.5, the official README's note 1) and 4 images per GPU (official samples_per_gpu=4, 8 x 4 = 32).
_base_ = './cascade-mask-rcnn_replknet-31B_fpn_ms-3x_coco.py'

dims = [256, 512, 1024, 2048]
model = dict(
    data_preprocessor=dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5]),
    backbone=dict(arch='XL', drop_path_rate=0.5, out_norms=True),
    neck=dict(in_channels=dims))
train_dataloader = dict(batch_size=4)
auto_scale_lr = dict(base_batch_size=32)
