# SW-small, ImageNet-1K from scratch, 300 epochs at 224 (paper Table 8). Only SW-tiny's command and
# checkpoint are released: Table 8 gives SW-small the same recipe (batch 4096, AdamW 4e-3, wd 0.05, 5 warm-up
# epochs, mixup/cutmix/erasing/smoothing, snip init, u = 100, magnitude_sum, only L). Not published, chosen
# here: drop path 0.4 (UniRepLKNet-S's value, unverified), sparsity 0.3 and sparse_gap 131 (SW-tiny's),
# no EMA (SW-tiny's).
_base_ = './shiftwise-tiny_8xb64-accum8_in1k.py'
model = dict(backbone=dict(arch='small', drop_path_rate=0.4), head=dict(in_channels=768))
