# ConvNeSt Table 2 "ER=16, C=48, D=768, B=(3, 3, 8, 3)": 81.66 top-1, 28M (post-normalisation, 300 epochs).
_base_ = './convnest-t-er4-post-norm_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch=dict(depths=(3, 3, 8, 3), dims=(48, 96, 192, 384)),
                           expansion_ratio=16), head=dict(in_channels=384))
