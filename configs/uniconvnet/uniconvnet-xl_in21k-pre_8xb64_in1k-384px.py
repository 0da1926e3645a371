# UniConvNet-XL, ImageNet-22K -> 1K fine-tuning at 384 (official command only; XL is not in the supplementary
# tables): the L recipe (uniconvnet-l_in21k-pre_8xb64_in1k-384px.py: layer decay 0.8, EMA 0.9999, new head at
# 0.001 scale) with drop path 0.35.
_base_ = './uniconvnet-l_in21k-pre_8xb64_in1k-384px.py'
model = dict(backbone=dict(arch='XL', drop_path_rate=0.35))
