# UniConvNet-B, ImageNet-1K fine-tuning at 384 (supp. Table 12): the T recipe
# (uniconvnet-t_in1k-pre_8xb64_in1k-384px.py: lr 5e-5, wd 1e-8, 30 epochs, layer decay 0.7, head init scale 0.001,
# EMA 0.9999) with drop path 0.8; start from the backbone of uniconvnet-b_8xb64-accum8_in1k.py / the converted
# official B checkpoint (model.backbone.init_cfg.checkpoint=PATH).
_base_ = './uniconvnet-t_in1k-pre_8xb64_in1k-384px.py'
model = dict(backbone=dict(arch='B', drop_path_rate=0.8), head=dict(in_channels=896))
