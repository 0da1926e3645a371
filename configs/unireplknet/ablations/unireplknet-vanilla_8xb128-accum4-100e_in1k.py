# UniRepLKNet journal §3.2 "vanilla architecture" (C = 96, depths 3-3-9-3, DW 3x3 in stage 1, 13x13 Dilated Reparam
# Blocks in stages 2-4, SE block), ImageNet-1K, 100 epochs with drop path 0.1 (Appendix B: the Table 16 recipe of
# UniRepLKNet-T otherwise). It is the reference row of Table 3: (a) "SE Block" 81.6 top-1, 32.9M; (b) "Dilated
# Reparam" 81.63; (c) "3 13 13 13" 81.6; (d) "N_3 = 9" 81.6.
_base_ = '../unireplknet-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(arch=dict(_delete_=True, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), kernel_sizes=(
    (3,) * 3, (13,) * 3, (13,) * 9, (13,) * 3)), drop_path_rate=0.1), head=dict(in_channels=768))
train_cfg = dict(max_epochs=100)
