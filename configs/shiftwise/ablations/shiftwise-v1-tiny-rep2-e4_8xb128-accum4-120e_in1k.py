# SW-v1 (the SW operator on SLaK-T: widths x1.3, M = 51, 49, 47, 13, N = 3, G = 0.23), ShiftwiseConv Table 2 #11 "rep2
# E4": 81.82 top-1, 120 epochs with the SLaK-T recipe (Table 8; appendix C.1: experiments #0-#23). Coarse-grained
# sparsity (§3.2): 40% of the SW group-conv filters pruned by their L1 sum, one mask shared by the Rep branches at
# every update (§3.3 #4). The hook gives a branch group the mean of its members' SNIP densities (#15's "mean" init);
# before #15 the paper summed the branches first.
_base_ = '../../slak/slak-t_8xb128-accum4_in1k.py'
model = dict(backbone=dict(type='largekernel.ShiftWiseV1', arch='tiny', small_kernel=3, ghost_ratio=0.23,
                           num_branches=2, num_edges=4))
train_cfg = dict(max_epochs=120)
custom_hooks = [
    dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority='ABOVE_NORMAL'),
    dict(type='largekernel.DynamicSparseHook', sparsity=0.4, granularity='filter',
         include=[r'^backbone\.stages\..*\.large_kernel\.lk_convs\.\d+\.weight$'],
         branch_groups=[r'^backbone\.stages\..*\.large_kernel\.lk_convs\.(\d+)\.weight$'], sync_gap=1,
         init='snip', prune='magnitude_sum', grow='random', prune_rate=0.5, update_interval=2000),
]
