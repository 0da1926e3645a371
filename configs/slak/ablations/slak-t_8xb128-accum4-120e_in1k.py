# SLaK-T (51x51), ImageNet-1K, 120 epochs (official README table "SLaK-T with 31x31, 51x51 and 61x61 kernels trained
# for 120 epochs": 81.6 top-1, 30M sparse params, 5.0G; ShiftwiseConv Table 1 #0, 81.6), the SLaK-T recipe otherwise.
_base_ = '../slak-t_8xb128-accum4_in1k.py'
train_cfg = dict(max_epochs=120)
