# ConvNeSt Table 2 "ER=12, C=56, D=672, B=(3, 3, 8, 3)" = Table 3 "LN LN": 81.99 top-1, 28M (post-normalisation, 300
# epochs).
_base_ = './convnest-t-er4-post-norm_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch=dict(depths=(3, 3, 8, 3), dims=(56, 112, 224, 448)),
                           expansion_ratio=12), head=dict(in_channels=448))
