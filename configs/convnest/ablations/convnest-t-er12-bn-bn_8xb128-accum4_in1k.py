# ConvNeSt Table 3 "Norm (HD) BN, Norm (LD) BN": 82.23 top-1 (ER = 12, C = 56, depths 3-3-8-3, 300 epochs).
_base_ = './convnest-t-er12-post-norm_8xb128-accum4_in1k.py'
model = dict(backbone=dict(norms=('BN', 'BN')))
