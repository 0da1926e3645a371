# ConvNeSt Table 1 "Vanilla Implementation" (Fig. 2a): 81.64 top-1 (ER = 4, C = 96, depths 3-3-8-3, 300 epochs).
_base_ = './convnest-t-er4-post-norm_8xb128-accum4_in1k.py'
model = dict(backbone=dict(block_variant='vanilla'))
