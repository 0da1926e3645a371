# UPerNet with a SLaK-B backbone (ImageNet-1K pretrained): the SLaK-B row of the SLaK paper's ADE20K table
# (metafile.yml), official recipe: drop path 0.4, head widths
# 166 ... 1331; the rest as the T config (stage-wise lr decay 0.9 / 6, sliding-window test 512 / 341).
_base_ = './upernet_slak-t_8xb2-160k_ade20k-512x512.py'

dims = [166, 332, 665, 1331]
model = dict(
    backbone=dict(arch='B', drop_path_rate=0.4),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
