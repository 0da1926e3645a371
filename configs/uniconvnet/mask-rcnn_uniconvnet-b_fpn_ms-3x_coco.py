# UniConvNet-B (ImageNet-1K pretrained) Mask R-CNN 3x on COCO (UniConvNet supplementary D.4; no published numbers, see
# metafile.yml): the UniConvNet-T recipe with the B backbone, drop path 0.4.
_base_ = './mask-rcnn_uniconvnet-t_fpn_ms-3x_coco.py'

dims = [112, 224, 448, 896]
model = dict(backbone=dict(arch='B', drop_path_rate=0.4), neck=dict(in_channels=dims))
