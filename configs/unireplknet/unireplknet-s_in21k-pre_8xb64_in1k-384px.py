# UniRepLKNet-S, ImageNet-22K -> 1K fine-tuning at 384 (official README command): total batch 512 = 8 x 64
# (official: 4 x 64 x 2), AdamW lr 5e-5, weight decay 1e-8, 30 epochs without warm-up, drop path 0.2, no
# Mixup/CutMix, label smoothing 0.1, layer-wise lr decay 0.8 over ConvNeXt's 14 groups (num_layers 12), head
# initialised at 0.001 x the usual scale (head_init_scale). Set the 22K checkpoint (converted with
# tools/model_converters/unireplknet_to_largekernel.py or trained with the *_in21k configs):
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/unireplknet.py',
    '../_base_/datasets/imagenet_bs64_convnext_384.py',
    '../_base_/schedules/imagenet_bs4096_adamw_300e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(arch='S', drop_path_rate=0.2,
                  init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(in_channels=768,
              init_cfg=dict(_delete_=True, type='TruncNormal', layer='Linear', std=0.02 * 0.001, bias=0.0)),
    train_cfg=None,
)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-5, weight_decay=1e-8),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.8, num_layers=12),
)
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0, convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
auto_scale_lr = dict(base_batch_size=512)
