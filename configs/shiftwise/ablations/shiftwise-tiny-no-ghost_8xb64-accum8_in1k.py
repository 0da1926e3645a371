# ShiftwiseConv Table 9 #26 "#24 - ghost": 82.99 top-1 after 300 epochs (SW-tiny with G = 0: every channel
# shift-wise).
_base_ = '../shiftwise-tiny_8xb64-accum8_in1k.py'
model = dict(backbone=dict(ghost_ratio=0.0))
