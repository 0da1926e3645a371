# RepLKNet-31L, ImageNet-22K -> 1K fine-tuning at 384: as 31B (Appendix A: "RepLKNet-31B/L with 384x384, 32 GPUs x
# 16, drop path 0.3"; README: lr 4e-4, min lr 3e-4, layer decay 0.7, EMA).
_base_ = './replknet-31B_in21k-pre_8xb16-accum4_in1k-384px.py'
model = dict(backbone=dict(arch='31L'), head=dict(in_channels=1536))
