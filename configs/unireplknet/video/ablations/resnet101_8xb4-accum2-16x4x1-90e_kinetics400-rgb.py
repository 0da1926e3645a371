# UniRepLKNet journal Table 11, video column, "ResNet-101 (K=3)": 41.3% top-1 on Kinetics-400 (5 clips x 3 crops).
# mmpretrain's ResNet-101 in place of UniRepLKNet-S behind the same video embedder (its stage-4 map is
# global-average pooled to 2048 features); same data, layout and recipe as
# ../unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py (§4.2), except layer-wise lr decay (the largekernel
# constructor maps only largekernel backbones; one learning rate here) and drop path 0.4 kept as stochastic depth
# on the residual blocks.
_base_ = ['../unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py']

model = dict(
    backbone=dict(backbone=dict(_delete_=True, type='mmpretrain.ResNet', depth=101, drop_path_rate=0.4,
                                out_indices=(3,))),
    cls_head=dict(in_channels=2048),
)
optim_wrapper = dict(constructor='DefaultOptimWrapperConstructor',
                     paramwise_cfg=dict(_delete_=True, norm_decay_mult=0.0, bias_decay_mult=0.0,
                                        flat_decay_mult=0.0))
