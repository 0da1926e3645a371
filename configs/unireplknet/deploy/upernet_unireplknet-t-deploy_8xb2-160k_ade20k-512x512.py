# Deploy (re-parameterised) twin of ../upernet_unireplknet-t_8xb2-160k_ade20k-512x512.py, as the official
# `upernet_unireplknet_t_512_160k_ade20k_deploy` (checkpoint None): load a segmentor converted with
#   python tools/model_converters/reparameterize.py TRAIN_CONFIG CKPT OUT
_base_ = '../upernet_unireplknet-t_8xb2-160k_ade20k-512x512.py'

model = dict(backbone=dict(deploy=True, init_cfg=None))
