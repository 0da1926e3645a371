# UniConvNet-N2 (ImageNet-1K pretrained) Mask R-CNN 1x on COCO (UniConvNet supplementary D.4; no published numbers, see
# metafile.yml): the UniConvNet-T recipe with the N2 backbone, drop path 0.2.
_base_ = './mask-rcnn_uniconvnet-t_fpn_1x_coco.py'

dims = [48, 96, 192, 384]
model = dict(backbone=dict(arch='N2', drop_path_rate=0.2), neck=dict(in_channels=dims))
