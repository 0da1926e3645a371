# UniConvNet-S (ImageNet-1K pretrained) Mask R-CNN 3x on COCO (UniConvNet supplementary D.4; no published numbers, see
# metafile.yml): the UniConvNet-T recipe with the S backbone, drop path 0.3.
_base_ = './mask-rcnn_uniconvnet-t_fpn_ms-3x_coco.py'

dims = [80, 160, 320, 640]
model = dict(backbone=dict(arch='S', drop_path_rate=0.3), neck=dict(in_channels=dims))
