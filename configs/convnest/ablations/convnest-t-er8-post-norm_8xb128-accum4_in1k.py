# ConvNeSt Table 2 "ER=8, C=72, D=576, B=(3, 3, 6, 3)": 81.89 top-1, 28M (post-normalisation, 300 epochs).
_base_ = './convnest-t-er4-post-norm_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch=dict(depths=(3, 3, 6, 3), dims=(72, 144, 288, 576)),
                           expansion_ratio=8), head=dict(in_channels=576))
