# ConvNeSt §2.2, Table 1 "Post-Normalization" (Fig. 2c) = Table 2 "ER=4, C=96, D=384, B=(3,3,8,3)": 81.95 top-1, 28M
# params (Table 2), 300 epochs with the ConvNeSt-T recipe. The roadmap step before §2.5: no ResScale, no inner
# shortcut, depths 3-3-8-3.
_base_ = '../convnest-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch=dict(_delete_=True, depths=(3, 3, 8, 3), dims=(96, 192, 384, 768)), expansion_ratio=4,
                           res_scale_init_value=None, inner_shortcut=False), head=dict(in_channels=768))
