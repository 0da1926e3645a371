# UniRepLKNet-S (ImageNet-22K pretrained) UPerNet 160k, 512 crops: official
# `upernet_unireplknet_s_in22k_512_160k_ade20k`
# (official README; published results in metafile.yml). Same recipe as the 1K S config; the backbone starts from
# the 22K->1K 384 checkpoint (official unireplknet_s_in22k_to_in1k_384_acc86.44).
_base_ = './upernet_unireplknet-s_8xb2-160k_ade20k-512x512.py'
