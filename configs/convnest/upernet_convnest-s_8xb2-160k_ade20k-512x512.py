# UPerNet with a ConvNeSt-S backbone: the ConvNeSt-S row of the ConvNeSt paper's Table 6 (metafile.yml); the T
# recipe with drop path 0.3 (ConvNeXt-S's).
_base_ = './upernet_convnest-t_8xb2-160k_ade20k-512x512.py'

dims = [56, 112, 224, 448]
model = dict(
    backbone=dict(arch='S', drop_path_rate=0.3),
    decode_head=dict(in_channels=dims),
    auxiliary_head=dict(in_channels=dims[2]),
)
