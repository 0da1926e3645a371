# RetinaNet 1x recipe of EMO (ICCV 2023) for light backbones, shared by the UniConvNet light variants (UniConvNet
# supp. D.4: "following EMO", AdamW, batch 16 on 8 GPUs). On mmdet's RetinaNet R50-FPN 1x config:
# - neck: FPN from stride 8 (start_level 1) with extra convs on the input (mmdet's RetinaNet default), 5 levels;
#   the family config sets the backbone and ``neck.in_channels`` (all four stage widths);
# - backbone: the four stage outputs, each through its LayerNorm; stem and first stage frozen (EMO's
#   frozen_stages=1; its norm_eval has nothing to act on: UniConvNet has no BatchNorm);
# - optimiser: AdamW lr 2e-4, betas (0.9, 0.999), wd 0.05, no weight decay on parameters whose name contains
#   'norm' (EMO's custom key), no gradient clipping;
# - schedule: 12 epochs, cosine annealing to 0 per iteration (EMO's CosineAnnealing lr_config), after a
#   500-iteration linear warm-up from 0.001;
# - batch: 2 images per GPU x 8 GPUs = 16, the UniConvNet supplement's batch (EMO itself trains with 4 per GPU at
#   the same lr); auto_scale_lr keeps lr 2e-4 at 16.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='largekernel.UniConvNet',
        out_indices=(0, 1, 2, 3),
        out_norms=True,
        frozen_stages=1,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(start_level=1, add_extra_convs='on_input', num_outs=5))

train_dataloader = dict(batch_size=2)  # 8 GPUs x 2 images = 16

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0,
         convert_to_iter_based=True),
]
auto_scale_lr = dict(base_batch_size=16)
