# UniConvNet-L, ImageNet-22K -> 1K fine-tuning at 384 (supp. Table 12, D.2; official command): the T/S/B
# fine-tuning recipe (uniconvnet-t_in1k-pre_8xb64_in1k-384px.py: 30 epochs, no warm-up, lr 5e-5, wd 1e-8, batch
# 512, cosine, label smoothing 0.1, RandAugment, erasing 0.25, no Mixup/CutMix, backbone-only loading with the new
# 1K head at 0.001 x the trunc-normal(0.02) scale, EMA 0.9999) with drop path 0.3 and layer-wise lr decay 0.8. The
# 21841-class head of the 22K checkpoint is dropped. Set the 22K checkpoint
# (tools/model_converters/uniconvnet_to_largekernel.py or uniconvnet-l_8xb64-accum8_in21k.py):
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = './uniconvnet-t_in1k-pre_8xb64_in1k-384px.py'
model = dict(backbone=dict(arch='L', drop_path_rate=0.3), head=dict(in_channels=1280))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
