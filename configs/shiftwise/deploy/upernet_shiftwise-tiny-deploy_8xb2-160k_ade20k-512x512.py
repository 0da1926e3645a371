# Deploy (re-parameterised) twin of ../upernet_shiftwise-tiny_8xb2-160k_ade20k-512x512.py: load a segmentor converted
# with  python tools/model_converters/reparameterize.py TRAIN_CONFIG CKPT OUT
_base_ = '../upernet_shiftwise-tiny_8xb2-160k_ade20k-512x512.py'

model = dict(backbone=dict(deploy=True, init_cfg=None))
