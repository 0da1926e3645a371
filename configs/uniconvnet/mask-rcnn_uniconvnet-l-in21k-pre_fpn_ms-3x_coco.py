# UniConvNet-L (ImageNet-22K pretrained) Mask R-CNN 3x on COCO (UniConvNet supplementary D.4; no published numbers, see
# metafile.yml): the UniConvNet-T recipe with the L backbone, drop path 0.4.
_base_ = './mask-rcnn_uniconvnet-t_fpn_ms-3x_coco.py'

dims = [160, 320, 640, 1280]
model = dict(backbone=dict(arch='L', drop_path_rate=0.4), neck=dict(in_channels=dims))
