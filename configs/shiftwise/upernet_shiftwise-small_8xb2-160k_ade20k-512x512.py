# UPerNet with an SW-small backbone: the SW-small row of the ShiftwiseConv paper's Table 5 (metafile.yml). No
# official config was released: the tiny recipe with the small backbone (depths 3-3-27-3, widths 96 ... 768); drop
# path 0.4 and layer decay 1.0 kept from tiny (our choice, not published).
_base_ = './upernet_shiftwise-tiny_8xb2-160k_ade20k-512x512.py'

dims = [96, 192, 384, 768]
model = dict(
    backbone=dict(arch='small'),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
