# UniRepLKNet-XL (ImageNet-22K pretrained) UPerNet 160k, 640 crops: the XL-22K 640 row of the paper's Table 7
# (ADE20K; the published mIoU, single- and multi-scale (tools/test.py --tta), parameters and FLOPs are in
# metafile.yml). No official config was released for it: this one is the L 640 recipe with the XL backbone (init
# unireplknet_xl_in22k_to_in1k_384) and our choices for what is not published: drop path 0.5 (L 0.4, one step
# up as from B to L) and the L layer decay 0.85 / 12.
_base_ = './upernet_unireplknet-l-in21k-pre_8xb2-160k_ade20k-640x640.py'

dims = [256, 512, 1024, 2048]
model = dict(
    backbone=dict(arch='XL', drop_path_rate=0.5),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
