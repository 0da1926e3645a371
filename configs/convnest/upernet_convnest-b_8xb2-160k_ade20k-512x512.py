# UPerNet with a ConvNeSt-B backbone: the ConvNeSt-B row of the ConvNeSt paper's Table 6 (metafile.yml); the T
# recipe with drop path 0.4 (ConvNeXt-B's).
_base_ = './upernet_convnest-t_8xb2-160k_ade20k-512x512.py'

dims = [72, 144, 288, 576]
model = dict(
    backbone=dict(arch='B', drop_path_rate=0.4),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
