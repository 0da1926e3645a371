# ShiftwiseConv Table 9 #25 "#24 - SE": 82.14 top-1 after 120 epochs (SW-tiny without the SE blocks).
_base_ = './shiftwise-tiny_8xb64-accum8-120e_in1k.py'
model = dict(backbone=dict(use_se=False))
