# UPerNet with a ConvNeSt-T backbone (ImageNet-1K pretrained), ADE20K, 160k iterations, 512 crops: the ConvNeSt-T row
# of the ConvNeSt paper's Table 6 (single- and multi-scale mIoU, parameters and FLOPs at 2048x512 in metafile.yml;
# multi-scale + flip: tools/test.py --tta). The paper only says "160K iterations, following ConvNeXt"; this is
# ConvNeXt's UPerNet recipe on the shared ../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512_slide.py:
# AdamW lr 1e-4, wd 0.05, stage-wise lr decay 0.9 over 6 groups (decay_type='stage_wise'), poly power 1.0 with a
# 1500-iteration warm-up, 8 GPUs x 2 images, sliding-window test 512 / 341; drop path 0.4 (ConvNeXt-T's); every
# stage output through its LayerNorm.
# Pretrained backbone: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = '../_base_/segmentation/upernet_lk_8xb2-160k_ade20k-512x512_slide.py'

dims = [48, 96, 192, 384]
model = dict(
    backbone=dict(type='largekernel.ConvNeSt', arch='T', drop_path_rate=0.4, out_norms=True),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9, num_layers=6, decay_type='stage_wise'))
