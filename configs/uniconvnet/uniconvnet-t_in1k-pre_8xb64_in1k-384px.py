# UniConvNet-T, ImageNet-1K fine-tuning at 384 from the 1K 224 model (supp. Table 12, D.2): 30 epochs
# without warm-up, AdamW lr 5e-5 and weight decay 1e-8 (the table's "Learning Rate Decay" row) for a total batch of
# 512 = 8 GPUs x 64, cosine to 1e-6, layer-wise lr decay 0.7 over ConvNeXt's groups (num_layers 12; see
# UniConvNet.layer_id), drop path 0.4, label smoothing 0.1, RandAugment, random erasing 0.25, no Mixup/CutMix,
# head init scale 0.001 and EMA 0.9999 (Table 12; one EMA update per optimizer step).
# Evaluation warps to 384 x 384 (no crop).
# Start from the 224 model's backbone (a converted official checkpoint or a uniconvnet-t_8xb128-accum4_in1k.py
# result): only the backbone is loaded and the 1K head starts at 0.001 x the usual trunc-normal(0.02) scale, as
# Table 12's head init scale prescribes (a loaded head would overwrite it). Set the checkpoint with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/uniconvnet.py',
    '../_base_/datasets/imagenet_bs64_convnext_384.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(arch='T', drop_path_rate=0.4, init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    head=dict(in_channels=512,
              init_cfg=dict(_delete_=True, type='TruncNormal', layer='Linear', std=0.02 * 0.001, bias=0.0)),
    train_cfg=None)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-5, weight_decay=1e-8, eps=1e-8, betas=(0.9, 0.999)),
    constructor='largekernel.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7, num_layers=12),
)
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0, convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
custom_hooks = [dict(type='largekernel.StepEMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
