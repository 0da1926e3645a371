# SW-tiny (#24: #20 with the updated recipe, u = 100), ImageNet-1K, 120 epochs: 82.27 top-1 (ShiftwiseConv Table 9 and
# appendix C.1; its 300-epoch run is the released SW-tiny, 83.39).
_base_ = '../shiftwise-tiny_8xb64-accum8_in1k.py'
train_cfg = dict(max_epochs=120)
