# UniRepLKNet journal Table 11, video column, "ConvNeXt-S (K=7)": 48.5% top-1 on Kinetics-400 (5 clips x 3 crops).
# mmpretrain's ConvNeXt-S (depths 3-3-27-3, dims 96-768, 7 x 7 kernels) in place of UniRepLKNet-S behind the same
# video embedder; same data, layout and recipe as ../unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py
# (§4.2), except layer-wise lr decay: the largekernel constructor maps only largekernel backbones, so this model
# trains with one learning rate (the paper does not say how its baselines were grouped).
_base_ = ['../unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py']

model = dict(
    backbone=dict(backbone=dict(_delete_=True, type='mmpretrain.ConvNeXt', arch='small', drop_path_rate=0.4,
                                out_indices=(3,), gap_before_final_norm=True)),
    cls_head=dict(in_channels=768),
)
optim_wrapper = dict(constructor='DefaultOptimWrapperConstructor',
                     paramwise_cfg=dict(_delete_=True, norm_decay_mult=0.0, bias_decay_mult=0.0,
                                        flat_decay_mult=0.0))
