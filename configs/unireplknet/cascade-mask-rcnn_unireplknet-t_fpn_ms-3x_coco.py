# Cascade Mask R-CNN + FPN with a UniRepLKNet-T backbone (ImageNet-1K pretrained), COCO, 3x schedule: the official
# `casc_mask_rcnn_unireplknet_t_in1k_fpn_3x_coco` recipe (paper Table 6; the published results are
# in metafile.yml) written for mmdet 3.x:
# - model: mmdet's Cascade Mask R-CNN R50-FPN with the backbone replaced; FPN 256 channels, 5 levels; the three
#   cascade box heads are 4conv1fc heads (SyncBN) with GIoU loss (weight 10) on decoded boxes;
# - backbone: SyncBN in every block, drop path 0.3, activation checkpointing (with_cp), outputs of all four stages,
#   each through its own LayerNorm (norm0..norm3, the official dense-prediction outputs);
# - data: flip + DETR-style AutoAugment (multi-scale resize, or resize -> random crop 384-600 -> multi-scale resize),
#   2 images per GPU x 8 GPUs = 16;
# - optimiser: AdamW lr 1e-4, betas (0.9, 0.999), wd 0.05, no gradient clipping, layer-wise lr decay 0.8 over
#   ConvNeXt's 14 groups (num_layers 12; UniRepLKNet.layer_id documents the mapping);
# - schedule: 36 epochs, lr x0.1 at epochs 27 and 33, 500-iteration linear warm-up from 0.001;
# - checkpoint every epoch, keep 5, keep the best (bbox mAP).
# The official code uses the plain K x K depthwise conv (attempt_use_lk_impl=False: "the batch size is very small");
# conv_impl='native' is the same choice here.
# Pretrained backbone: an ImageNet checkpoint of this project (or an official one converted with
# tools/model_converters/unireplknet_to_largekernel.py), e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/unireplknet-t_8xb128-accum4_in1k/epoch_300.pth
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'

dims = [80, 160, 320, 640]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='largekernel.UniRepLKNet',
        arch='T',
        drop_path_rate=0.3,
        norm_cfg=norm_cfg,
        conv_impl='native',
        with_cp=True,
        out_indices=(0, 1, 2, 3),
        out_norms=True,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(type='FPN', in_channels=dims, out_channels=256, num_outs=5),
    roi_head=dict(bbox_head=[
        dict(
            type='ConvFCBBoxHead',
            num_shared_convs=4,
            num_shared_fcs=1,
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
            reg_class_agnostic=False,
            reg_decoded_bbox=True,
            norm_cfg=norm_cfg,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
        for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
    ]))

# augmentation strategy of DETR / Sparse R-CNN (official: flip, then AutoAugment over the two policies)
multi_scales = [(short, 1333) for short in range(480, 801, 32)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=multi_scales, keep_ratio=True)],
            [
                dict(type='RandomChoiceResize', scales=[(400, 1333), (500, 1333), (600, 1333)], keep_ratio=True),
                dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600), allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=multi_scales, keep_ratio=True),
            ],
        ]),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))  # 8 GPUs x 2 images = 16

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.8, num_layers=12),
)

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=5, save_best='auto'))
auto_scale_lr = dict(base_batch_size=16)
