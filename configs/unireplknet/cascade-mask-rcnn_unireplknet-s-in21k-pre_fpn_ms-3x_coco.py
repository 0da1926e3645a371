# UniRepLKNet-S (ImageNet-22K pretrained) Cascade Mask R-CNN 3x: official
# `casc_mask_rcnn_unireplknet_s_in22k_fpn_3x_coco`
# (paper Table 6; published results in metafile.yml). As the 1K config (drop path 0.5, layer decay 0.8) plus the
# official ExpMomentumEMAHook (momentum 1e-4, priority 49), here mmengine's EMAHook with mmdet's ExpMomentumEMA (same
# warm-up formula, gamma 2000 = the old hook's total_iter) averaging buffers too, as the old hook did.
_base_ = './cascade-mask-rcnn_unireplknet-s_fpn_ms-3x_coco.py'

custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, update_buffers=True, priority=49),
]
