# UniConvNet-N2 (ImageNet-1K pretrained) Cascade Mask R-CNN 3x on COCO (UniConvNet supplementary D.4; no published
# numbers, see metafile.yml): the UniConvNet-T recipe with the N2 backbone, drop path 0.2.
_base_ = './cascade-mask-rcnn_uniconvnet-t_fpn_ms-3x_coco.py'

dims = [48, 96, 192, 384]
model = dict(backbone=dict(arch='N2', drop_path_rate=0.2), neck=dict(in_channels=dims))
