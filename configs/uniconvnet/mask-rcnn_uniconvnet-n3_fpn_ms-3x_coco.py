# UniConvNet-N3 (ImageNet-1K pretrained) Mask R-CNN 3x on COCO (UniConvNet supplementary D.4; no published numbers, see
# metafile.yml): the UniConvNet-T recipe with the N3 backbone, drop path 0.2.
_base_ = './mask-rcnn_uniconvnet-t_fpn_ms-3x_coco.py'

dims = [48, 96, 192, 384]
model = dict(backbone=dict(arch='N3', drop_path_rate=0.2), neck=dict(in_channels=dims))
