# UPerNet with a ConvNeSt-F backbone: the ConvNeSt-F row of the ConvNeSt paper's Table 6 (metafile.yml); the T
# recipe with drop path 0.1 (ours: not published; the ImageNet recipe of A-N uses no stochastic depth).
_base_ = './upernet_convnest-t_8xb2-160k_ade20k-512x512.py'

dims = [24, 48, 96, 192]
model = dict(
    backbone=dict(arch='F', drop_path_rate=0.1),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
