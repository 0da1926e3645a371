# ShiftwiseConv Table 2 #13 "rep4 E2": 81.77 top-1 (SW-v1 on SLaK-T, 120 epochs; see
# shiftwise-v1-tiny-rep2-e4_8xb128-accum4-120e_in1k.py).
_base_ = './shiftwise-v1-tiny-rep2-e4_8xb128-accum4-120e_in1k.py'
model = dict(backbone=dict(num_branches=4, num_edges=2))
