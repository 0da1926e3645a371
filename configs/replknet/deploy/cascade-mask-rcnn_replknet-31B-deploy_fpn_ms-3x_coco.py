# Deploy (re-parameterised) twin of ../cascade-mask-rcnn_replknet-31B_fpn_ms-3x_coco.py: load a detector converted with
#   python tools/model_converters/reparameterize.py TRAIN_CONFIG CKPT OUT
# (load_from / tools/test.py); no ImageNet initialisation.
_base_ = '../cascade-mask-rcnn_replknet-31B_fpn_ms-3x_coco.py'

model = dict(backbone=dict(deploy=True, init_cfg=None))
