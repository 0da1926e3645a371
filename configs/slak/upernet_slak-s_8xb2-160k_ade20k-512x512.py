# UPerNet with a SLaK-S backbone (ImageNet-1K pretrained): the SLaK-S row of the SLaK paper's ADE20K table
# (metafile.yml), official recipe: drop path 0.3; the rest as the T config
# (stage-wise lr decay 0.9 / 6, sliding-window test 512 / 341).
_base_ = './upernet_slak-t_8xb2-160k_ade20k-512x512.py'

model = dict(backbone=dict(arch='S', drop_path_rate=0.3))
