# UniConvNet-T, ImageNet-1K fine-tuning at 384 from the 1K 224 model (supp. Table 12, D.2): 30 epochs
# without warm-up, AdamW lr 5e-5 and weight decay 1e-8 (the table's "Learning Rate Decay" row) for a total batch of
# 512 = 8 GPUs x 64, cosine to 1e-6, layer-wise lr decay 0.7 over ConvNeXt's groups (num_layers 12; see
# UniConvNet.layer_id), drop path 0.4, label smoothing 0.1, RandAugment, random erasing 0.25, no Mixup/CutMix.
# Evaluation warps to 384 x 384 (no crop).
# Start from the 224 classifier, head included (set load_from to a converted official checkpoint or a
# uniconvnet-t_8xb128-accum4_in1k.py result): the official fine-tune keeps the 1K head (its head_init_scale 0.001 is
# overwritten by the loaded head), so no special head initialisation here.
# Paper vs code: Table 12 lists EMA 0.9999; the official fine-tuning commands for T/S/B do not enable it -> no EMA.
# Paper: --cfg-options "custom_hooks=[dict(type='EMAHook',momentum=1e-4,priority='ABOVE_NORMAL')]"
_base_ = [
    '../_base_/models/uniconvnet.py',
    '../_base_/datasets/imagenet_bs64_convnext_384.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='T', drop_path_rate=0.4), head=dict(in_channels=512), train_cfg=None)
load_from = None
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
