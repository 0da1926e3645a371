# RepLKNet-31L, ImageNet-22K pre-training: as 31B (Appendix A: "RepLKNet-31B/L ... 128 GPUs x 32, 90 epochs,
# drop path 0.1").
_base_ = './replknet-31B_8xb32-accum16_in21k.py'
model = dict(backbone=dict(arch='31L'), head=dict(in_channels=1536))
