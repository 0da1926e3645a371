# The model the official video script actually builds (Table 9 reports it as UniRepLKNet-S, 55.5M): B width
# (dims 128-1024, depths 3-3-27-3), the stage kernels of S except 11 x 11 in stage 4, 97.2M parameters (deploy
# form, 400 classes; 98.3M in the training form). Everything else as
# unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py. No video weights are released for either model, so no
# checkpoint decides between them.
_base_ = ['./unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py']

model = dict(
    backbone=dict(backbone=dict(arch=dict(_delete_=True,
        depths=(3, 3, 27, 3), dims=(128, 256, 512, 1024),
        kernel_sizes=((3,) * 3, (13,) * 3, (13, 3, 3) * 9, (11,) * 3)))),
    cls_head=dict(in_channels=1024),
)
