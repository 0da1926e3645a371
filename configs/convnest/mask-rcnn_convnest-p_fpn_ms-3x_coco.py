# ConvNeSt-P (ImageNet-1K pretrained) Mask R-CNN 3x on COCO (ConvNeSt Table 5, re-implemented there; box / mask AP in
# metafile.yml): the ConvNeSt-T recipe with the P backbone. Drop path 0.1: not published (the paper trains the small
# variants on ImageNet without it); layer decay over 6 layers for stage 3 of depth 9.
_base_ = './mask-rcnn_convnest-t_fpn_ms-3x_coco.py'

dims = [32, 64, 128, 256]
model = dict(backbone=dict(arch='P', drop_path_rate=0.1), neck=dict(in_channels=dims))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=6))
