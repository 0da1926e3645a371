# ShiftwiseConv Table 2 #14 "rep8 E4": 81.85 top-1 (SW-v1 on SLaK-T, 120 epochs; see
# shiftwise-v1-tiny-rep2-e4_8xb128-accum4-120e_in1k.py).
_base_ = './shiftwise-v1-tiny-rep2-e4_8xb128-accum4-120e_in1k.py'
model = dict(backbone=dict(num_branches=8))
