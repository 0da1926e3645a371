# ConvNeSt Table 2 "ER=6, C=80, D=480, B=(3, 3, 8, 3)": 82.03 top-1, 29M (post-normalisation, 300 epochs).
_base_ = './convnest-t-er4-post-norm_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch=dict(depths=(3, 3, 8, 3), dims=(80, 160, 320, 640)),
                           expansion_ratio=6), head=dict(in_channels=640))
