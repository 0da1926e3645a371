# Deploy (re-parameterised) twin of ../fcos_replknet-31b_fpn_gn-head_ms-640-800-2x_coco.py: load a detector
# converted with
#   python tools/model_converters/reparameterize.py TRAIN_CONFIG CKPT OUT
# (load_from / tools/test.py); no ImageNet initialisation.
_base_ = '../fcos_replknet-31b_fpn_gn-head_ms-640-800-2x_coco.py'

model = dict(backbone=dict(deploy=True, init_cfg=None))
