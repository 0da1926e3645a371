# UniConvNet-XL, ImageNet-22K pre-training: the L recipe (uniconvnet-l_8xb64-accum8_in21k.py; drop path 0.2).
# XL appears only in the official code/README (not in the supplementary tables).
_base_ = './uniconvnet-l_8xb64-accum8_in21k.py'
model = dict(backbone=dict(arch='XL'))
