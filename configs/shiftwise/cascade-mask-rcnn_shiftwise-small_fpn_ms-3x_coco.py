# ShiftwiseConv SW-small (ImageNet-1K pretrained) Cascade Mask R-CNN 3x (ShiftwiseConv Table 4; box / mask AP,
# params and FLOPs at 1280x800 in metafile.yml). No official SW-small detection config was released: the SW-tiny
# recipe with the small backbone (depths 3-3-27-3, widths 96-768) and drop path 0.5 (UniRepLKNet-S's, whose
# architecture SW-v2 follows).
_base_ = './cascade-mask-rcnn_shiftwise-tiny_fpn_ms-3x_coco.py'

dims = [96, 192, 384, 768]
model = dict(backbone=dict(arch='small', drop_path_rate=0.5), neck=dict(in_channels=dims))
