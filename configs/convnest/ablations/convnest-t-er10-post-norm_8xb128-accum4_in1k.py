# ConvNeSt Table 2 "ER=10, C=64, D=640, B=(3, 3, 6, 3)": 81.75 top-1, 28M (post-normalisation, 300 epochs).
_base_ = './convnest-t-er4-post-norm_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch=dict(depths=(3, 3, 6, 3), dims=(64, 128, 256, 512)),
                           expansion_ratio=10), head=dict(in_channels=512))
