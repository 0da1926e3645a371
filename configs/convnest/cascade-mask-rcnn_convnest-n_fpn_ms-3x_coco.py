# ConvNeSt-N (ImageNet-1K pretrained) Cascade Mask R-CNN 3x on COCO (ConvNeSt Table 5, re-implemented there; box / mask
# AP in metafile.yml): the ConvNeSt-T recipe with the N backbone. Drop path 0.1: not published (the paper trains the
# small variants on ImageNet without it); layer decay over 7 layers for stage 3 of depth 12.
_base_ = './cascade-mask-rcnn_convnest-t_fpn_ms-3x_coco.py'

dims = [40, 80, 160, 320]
model = dict(backbone=dict(arch='N', drop_path_rate=0.1), neck=dict(in_channels=dims))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=7))
