# UniRepLKNet-S (ImageNet-1K pretrained) Cascade Mask R-CNN 3x: official `casc_mask_rcnn_unireplknet_s_in1k_fpn_3x_coco`
# (paper Table 6; the published results are in metafile.yml). Drop path 0.5, layer decay 0.8; everything else as the
# T config.
_base_ = './cascade-mask-rcnn_unireplknet-t_fpn_ms-3x_coco.py'

dims = [96, 192, 384, 768]
model = dict(backbone=dict(arch='S', drop_path_rate=0.5), neck=dict(in_channels=dims))
