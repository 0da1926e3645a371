"""Tests of the dynamic sparse training hook (largekernel/engine/sparse.py)."""
import copy
import math
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from largekernel.engine.sparse import (DynamicSparseHook, cosine_prune_rate, erk_densities, find_branch_groups,
                                       prune_and_grow, prune_mask, random_mask, snip_densities)

torch.set_num_threads(1)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class TwoBranchNet(nn.Module):
    """Small conv net with a re-parameterisable pair of group convs (SW-like) and a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.lk = nn.ModuleList([nn.Conv2d(8, 32, 3, padding=1, groups=8, bias=False) for _ in range(2)])
        self.pw = nn.Conv2d(32, 16, 1)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.lk[0](x) + self.lk[1](x))
        return self.head(F.relu(self.pw(x)).mean((2, 3)))


def _batch(seed=0, n=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 12, 12, generator=g), torch.randint(0, 10, (n,), generator=g)


def _train(model, hook, opt, steps, seed=0, ema=None, ema_first=False):
    for i in range(steps):
        x, y = _batch(seed + i)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if ema_first:
            ema.update_parameters(model)
            hook.step()
        else:
            hook.step()
            if ema is not None:
                ema.update_parameters(model)


def _loss_fn(model):
    x, y = _batch(123, 32)
    return F.cross_entropy(model(x), y)


# ---------------------------------------------------------------------------------------------------------------
# settings that make no sense
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs, needle', [
    (dict(sparsity=1.0), 'sparsity=1.0'),
    (dict(sparsity=-0.2), 'sparsity=-0.2'),
    (dict(sparsity=0.4, update_interval=0), 'update_interval'),
    (dict(sparsity=0.4, prune='SET'), "'SET'"),
    (dict(sparsity=0.4, grow='gradient'), "'gradient'"),
    (dict(sparsity=0.4, init='lamp'), "'lamp'"),
    (dict(sparsity=0.4, granularity='kernel'), "'kernel'"),
    (dict(sparsity=0.4, granularity='filter', prune='magnitude'), 'magnitude_sum'),
    (dict(sparsity=0.4, prune='magnitude_sum'), "granularity='element'"),
    (dict(sparsity=0.4, prune_rate=1.5), 'prune_rate'),
    (dict(sparsity=0.4, sync_gap=3), 'branch_groups'),
    (dict(sparsity=0.4, include=['(']), "'('"),
])
def test_bad_settings(kwargs, needle):
    with pytest.raises(ValueError) as err:
        DynamicSparseHook(**kwargs)
    assert needle in str(err.value)


@pytest.mark.parametrize('kwargs, needle', [
    (dict(include=[r'nonexistent\.weight']), 'nonexistent'),
    (dict(exclude=[r'^nothing']), '^nothing'),
    (dict(branch_groups=[r'lk\.\d+\.weight']), 'capture group'),
    (dict(branch_groups=[r'missing\.(\d+)\.weight']), 'missing'),
    (dict(branch_groups=[r'^(stem)\.weight']), 'two or more'),
])
def test_patterns_that_match_nothing(kwargs, needle):
    hook = DynamicSparseHook(sparsity=0.5, init='uniform', total_steps=10, **kwargs)
    with pytest.raises(ValueError) as err:
        hook.setup(TwoBranchNet())
    assert needle in str(err.value)


# ---------------------------------------------------------------------------------------------------------------
# pure functions
# ---------------------------------------------------------------------------------------------------------------
def test_snip_densities_global_topk():
    scores = {'a': torch.tensor([5., 4., 3., 2.]), 'b': torch.tensor([10., 0.5, 0.1, 0.2, 9., 8.])}
    d = snip_densities(scores, 0.5)   # keep 5 of 10: 10, 9, 8, 5, 4
    assert d == {'a': 0.5, 'b': 0.5}
    d = snip_densities(scores, 0.3)   # keep 3: 10, 9, 8
    assert d['a'] == 0.0 and d['b'] == 0.5


def test_erk_budget_and_cap():
    shapes = {'stem': (8, 1, 3, 3), 'mid': (128, 128, 3, 3), 'head': (10, 512)}
    d = erk_densities(shapes, 0.05)
    kept = sum(d[n] * math.prod(s) for n, s in shapes.items())
    assert kept == pytest.approx(0.05 * sum(math.prod(s) for s in shapes.values()))
    assert d['stem'] == 1.0 and d['mid'] < d['head'] < 1.0   # tiny stem capped dense, big conv sparsest


def test_random_mask_and_prune_grow_counts():
    g = torch.Generator().manual_seed(0)
    mask = random_mask((40, 30), 0.37, g)
    assert int(mask.sum()) == round(0.37 * 1200)
    scores = torch.rand(40, 30, generator=g)
    n_remove = math.ceil(0.25 * int(mask.sum()))
    pruned = prune_mask(mask, scores, n_remove)
    removed = mask & ~pruned
    assert int(removed.sum()) == n_remove and not (pruned & ~mask).any()
    assert scores[pruned].min() >= scores[removed].max()      # the lowest-scoring active units go
    new, grown = prune_and_grow(mask, scores, 0.25, g)
    assert int(new.sum()) == int(mask.sum())                   # regrown exactly as many
    assert not (pruned & ~new).any() and int((new & ~pruned).sum()) == n_remove
    # ``grown`` = newly active units (zero weights); a just-pruned unit drawn again simply stays active
    assert torch.equal(grown, new & ~mask)


def test_cosine_prune_rate():
    assert cosine_prune_rate(0, 100, 0.5, 0.005) == pytest.approx(0.5)
    assert cosine_prune_rate(50, 100, 0.5, 0.005) == pytest.approx(0.2525)
    assert cosine_prune_rate(100, 100, 0.5, 0.005) == pytest.approx(0.005)
    assert cosine_prune_rate(300, 100, 0.5, 0.005) == pytest.approx(0.005)


def test_find_branch_groups():
    names = ['a.lk.0.weight', 'a.lk.1.weight', 'b.lk.0.weight', 'b.lk.1.weight', 'b.lk.10.weight', 'stem.weight']
    assert find_branch_groups(names, [r'lk\.(\d+)\.weight']) == [
        ['a.lk.0.weight', 'a.lk.1.weight'], ['b.lk.0.weight', 'b.lk.1.weight', 'b.lk.10.weight']]


# ---------------------------------------------------------------------------------------------------------------
# the engine without a Runner
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('granularity, init', [('element', 'snip'), ('filter', 'snip'), ('element', 'erk')])
def test_density_held_exactly(granularity, init):
    torch.manual_seed(0)
    model = TwoBranchNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hook = DynamicSparseHook(sparsity=0.5, granularity=granularity, init=init, update_interval=2, total_steps=20,
                             prune='magnitude' if granularity == 'element' else 'magnitude_sum', seed=1)
    hook.setup(model, [opt], loss_fn=_loss_fn)
    counts = {n: int(m.sum()) for n, m in hook.masks.items()}
    assert len(set(hook.densities().values())) > 1    # SNIP/ERK give per-layer densities
    start = {n: m.clone() for n, m in hook.masks.items()}
    for i in range(8):
        _train(model, hook, opt, 1, seed=i)
        # exactly the same number of active units per tensor after every update (count non-zeros of the mask)
        assert {n: int(m.sum()) for n, m in hook.masks.items()} == counts
        for name, p in hook.params.items():
            m = hook.masks[name]
            active = p.detach() != 0 if granularity == 'element' else p.detach().flatten(1).abs().sum(1) != 0
            assert not (active & ~m).any(), f'{name} has weights outside its mask'
            buf = opt.state[p]['momentum_buffer']
            assert (buf[~m] == 0).all()
    assert hook.num_steps == 8 and hook.num_updates == 4
    assert any((hook.masks[n] != start[n]).any() for n in start), 'prune/grow never moved a mask'


def test_dense_threshold_and_filter_masks():
    torch.manual_seed(0)
    model = TwoBranchNet()
    hook = DynamicSparseHook(sparsity=0.005, init='uniform', total_steps=10)   # density 0.995 >= 0.99
    with pytest.warns(UserWarning, match='nothing is masked'):
        hook.setup(model)
    assert not hook.masks
    hook = DynamicSparseHook(sparsity=0.25, granularity='filter', prune='magnitude_sum', init='uniform',
                             include=[r'^lk\.'], total_steps=10)
    hook.setup(model)
    assert list(hook.masks) == ['lk.0.weight', 'lk.1.weight']
    for name, m in hook.masks.items():
        assert m.shape == (32,) and int(m.sum()) == 24
        w = dict(model.named_parameters())[name]
        assert (w[~m] == 0).all() and (w[m].flatten(1).abs().sum(1) > 0).all()


def test_branch_groups_shared_init_and_sync():
    torch.manual_seed(0)
    model = TwoBranchNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    hook = DynamicSparseHook(sparsity=0.4, granularity='filter', prune='magnitude_sum', include=[r'^lk\.'],
                             branch_groups=[r'^lk\.(\d)\.weight'], sync_gap=2, update_interval=1, prune_rate=0.5,
                             total_steps=100, seed=3)
    with torch.no_grad():
        model.lk[1].weight.mul_(3)                          # make the branches' SNIP scores differ
    plain = DynamicSparseHook(sparsity=0.4, granularity='filter', prune='magnitude_sum', include=[r'^lk\.'],
                              total_steps=100)
    plain.setup(copy.deepcopy(model), loss_fn=_loss_fn)     # per-branch SNIP densities, no groups
    hook.setup(model, [opt], loss_fn=_loss_fn)
    assert hook.groups == [['lk.0.weight', 'lk.1.weight']]
    assert torch.equal(hook.masks['lk.0.weight'], hook.masks['lk.1.weight'])   # shared initial mask
    per_branch = plain.densities()
    assert per_branch['lk.0.weight'] != per_branch['lk.1.weight']
    mean = (per_branch['lk.0.weight'] + per_branch['lk.1.weight']) / 2        # SW's "mean" init (exp. #15)
    assert int(hook.masks['lk.0.weight'].sum()) == round(mean * 32)
    _train(model, hook, opt, 1)              # update 1: independent per branch
    assert not torch.equal(hook.masks['lk.0.weight'], hook.masks['lk.1.weight'])
    # update 2 is a sync update (2 % sync_gap == 0): branch 0 is pruned on the summed filter norms of both branches.
    # Make branch 1 dominate with the reverse order of branch 0, so pruning on branch 0 alone would keep other filters.
    params = dict(model.named_parameters())
    ranks = torch.arange(1, 33, dtype=torch.float32)
    with torch.no_grad():
        params['lk.0.weight'].copy_(ranks.view(-1, 1, 1, 1).expand(-1, 1, 3, 3) / 9)          # L1 = rank
        params['lk.1.weight'].copy_((33 - ranks).view(-1, 1, 1, 1).expand(-1, 1, 3, 3) * 10 / 9)
    hook.apply_masks()                                         # (each branch still zeroed by its own mask)
    summed = sum(params[n].detach().flatten(1).abs().sum(1) for n in ('lk.0.weight', 'lk.1.weight'))
    alone = params['lk.0.weight'].detach().flatten(1).abs().sum(1)
    before = hook.masks['lk.0.weight'].clone()
    hook.num_steps = 2
    rate = hook.current_prune_rate()
    hook.update_masks()
    after = hook.masks['lk.0.weight']
    assert torch.equal(after, hook.masks['lk.1.weight']) and int(after.sum()) == int(before.sum())
    active = before.nonzero().flatten()
    n_keep = active.numel() - math.ceil(rate * active.numel())
    top_summed = active[summed[active].topk(n_keep).indices]
    top_alone = active[alone[active].topk(n_keep).indices]
    assert after[top_summed].all()                            # never pruned: the strongest by the summed norm
    assert not after[top_alone].all()                         # (pruning on branch 0 alone would have kept these)


def test_amp_skipped_step_keeps_mask_invariant():
    """mmengine's AmpOptimWrapper (its update_params / GradScaler code path, run on CPU) with gradient accumulation:
    a step skipped for inf gradients is not counted and leaves the masked weights untouched; real steps are counted
    and re-masked (SLaK's AMP path never masks)."""
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    torch.manual_seed(0)
    model = TwoBranchNet()
    opt = torch.optim.AdamW(model.parameters(), lr=0.05)
    # AmpOptimWrapper asserts a GPU in __init__; build the same object by hand with a CPU GradScaler
    wrapper = object.__new__(AmpOptimWrapper)
    OptimWrapper.__init__(wrapper, optimizer=opt, accumulative_counts=2)
    wrapper._scale_update_param, wrapper.cast_dtype = None, None
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.0 ** 4)
    wrapper.initialize_count_status(model, 0, 6)
    hook = DynamicSparseHook(sparsity=0.5, init='uniform', update_interval=2, total_steps=10)
    hook.setup(model, [opt])
    poison = model.head.weight.register_hook(lambda g: g * float('inf') if state['poison'] else g)
    state = dict(poison=False)
    for i in range(6):
        state['poison'] = i == 3                      # the second real step (iterations 1, 3, 5 step)
        x, y = _batch(i)
        before = {n: p.detach().clone() for n, p in hook.params.items()}
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        wrapper.update_params(loss)
        hook.step()
        for name, p in hook.params.items():
            assert (p.detach()[~hook.masks[name]] == 0).all(), name
            if i % 2 == 0 or i == 3:                 # accumulation-only or skipped step: nothing moved
                assert torch.equal(p.detach(), before[name]), (i, name)
    poison.remove()
    assert wrapper.loss_scaler.get_scale() < 2.0 ** 4   # the scaler did see the inf and back off
    assert hook.num_steps == 2 and hook.num_updates == 1


@pytest.mark.parametrize('ema_first', [False, True])
def test_ema_respects_masks_and_resets_regrown(ema_first):
    from mmengine.model import ExponentialMovingAverage
    torch.manual_seed(0)
    model = TwoBranchNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hook = DynamicSparseHook(sparsity=0.5, init='snip', update_interval=3, prune_rate=0.5, total_steps=30, seed=0)
    hook.setup(model, [opt], loss_fn=_loss_fn)
    ema = ExponentialMovingAverage(model, momentum=0.1)
    hook.attach_ema(ema)
    ema_params = dict(ema.module.named_parameters())
    _train(model, hook, opt, 2, ema=ema, ema_first=ema_first)
    before = {n: m.clone() for n, m in hook.masks.items()}
    _train(model, hook, opt, 1, seed=2, ema=ema, ema_first=ema_first)     # third step = first update
    grown = {n: hook.masks[n] & ~before[n] for n in before}
    assert any(g.any() for g in grown.values())
    _train(model, hook, opt, 1, seed=3, ema=ema, ema_first=ema_first)
    for name, p in hook.params.items():
        e = ema_params[name].detach()
        assert (e[~hook.masks[name]] == 0).all(), f'EMA of {name} not masked'
        g = grown[name] & hook.masks[name]
        # the regrown units restart from the live value at the first EMA update after the next optimizer step
        assert torch.equal(e[g], p.detach()[g])
    _train(model, hook, opt, 5, seed=4, ema=ema, ema_first=ema_first)
    for name in hook.params:
        assert (ema_params[name].detach()[~hook.masks[name]] == 0).all()


def test_ema_independent_of_hook_order():
    """Running the sparse hook before or after the EMA update gives bit-identical EMA weights."""
    from mmengine.model import ExponentialMovingAverage
    results = []
    for ema_first in (False, True):
        torch.manual_seed(0)
        model = TwoBranchNet()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        hook = DynamicSparseHook(sparsity=0.5, init='uniform', update_interval=2, total_steps=30, seed=0)
        hook.setup(model, [opt])
        ema = ExponentialMovingAverage(model, momentum=0.2)
        hook.attach_ema(ema)
        snapshots = []
        for i in range(9):
            _train(model, hook, opt, 1, seed=i, ema=ema, ema_first=ema_first)
            snapshots.append({n: p.detach().clone() for n, p in ema.module.named_parameters()})
        results.append(snapshots)
    for i, (a, b) in enumerate(zip(*results)):
        for name in a:
            assert torch.equal(a[name], b[name]), (i, name)


# ---------------------------------------------------------------------------------------------------------------
# two gloo ranks
# ---------------------------------------------------------------------------------------------------------------
def _rank_worker(rank, world, init_file, out_dir):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    torch.manual_seed(0)
    model = TwoBranchNet()
    ddp = DDP(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    # a different seed per rank and different data per rank: without the broadcast the masks would differ
    hook = DynamicSparseHook(sparsity=0.5, granularity='element', init='snip', update_interval=2, prune_rate=0.5,
                             total_steps=20, seed=100 + rank)
    x, y = _batch(1000 + rank, 16)
    hook.setup(model, [opt], loss_fn=lambda m: F.cross_entropy(m(x), y))
    for i in range(6):
        x, y = _batch(10 * rank + i)
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()
        hook.step()
    torch.save({'masks': dict(hook.masks), 'weights': {n: p.detach() for n, p in hook.params.items()},
                'updates': hook.num_updates}, osp.join(out_dir, f'rank{rank}.pth'))
    _exit_without_teardown()


def _exit_without_teardown():
    """End a spawned rank once its results are saved, skipping the interpreter's teardown: destroying DDP's gloo
    process group there can deadlock (torch 2.13, seen here: the main thread joins gloo's run loop while holding the
    GIL, which that thread waits for to free a tensor)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@pytest.mark.slow
def test_masks_identical_on_two_gloo_ranks(tmp_path):
    """Two CPU processes (gloo, DDP) with different data and different hook seeds end with identical masks."""
    import torch.multiprocessing as mp
    mp.spawn(_rank_worker, args=(2, str(tmp_path / 'rdv'), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pth', weights_only=False) for r in (0, 1))
    assert r0['updates'] == r1['updates'] == 3
    assert r0['masks'].keys() == r1['masks'].keys() and r0['masks']
    for name in r0['masks']:
        assert torch.equal(r0['masks'][name], r1['masks'][name]), name
        assert torch.equal(r0['weights'][name], r1['weights'][name]), name
        assert (r0['weights'][name][~r0['masks'][name]] == 0).all()


# ---------------------------------------------------------------------------------------------------------------
# a real-data run with mmengine's Runner: SNIP init, EMAHook, checkpoint, resume
# ---------------------------------------------------------------------------------------------------------------
def _real_images(n=512):
    """First ``n`` images (N x 1 x 28 x 28 in [0, 1]) and labels of the committed Fashion-MNIST subset (balanced:
    the subset keeps the original order)."""
    root = osp.join(ROOT, 'data', 'fashion_mnist_subset')
    images = np.fromfile(osp.join(root, 'train-images-idx3-ubyte'), dtype=np.uint8, offset=16)
    labels = np.fromfile(osp.join(root, 'train-labels-idx1-ubyte'), dtype=np.uint8, offset=8)
    x = torch.from_numpy(images.reshape(-1, 1, 28, 28)[:n].astype(np.float32)) / 255
    return x, torch.from_numpy(labels[:n].astype(np.int64))


def _tiny_runner(work_dir, name, max_iters, hook_cfg, resume=False, load_from=None, launcher='none'):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class TinyConvNet(BaseModel):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                     nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                     nn.Flatten(), nn.Linear(32, 10))

        def forward(self, inputs, data_samples=None, mode='tensor'):
            logits = self.net(inputs)
            if mode == 'loss':
                return dict(loss=F.cross_entropy(logits, data_samples))
            return logits

    class Images(torch.utils.data.Dataset):
        def __init__(self):
            self.x, self.y = _real_images()

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return dict(inputs=self.x[i], data_samples=self.y[i])

    torch.manual_seed(0)
    return Runner(
        model=TinyConvNet(), work_dir=str(work_dir), experiment_name=name,
        train_dataloader=dict(dataset=Images(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=32, num_workers=0, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.05)),
        custom_hooks=[dict(type='EMAHook', momentum=0.1), hook_cfg],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=max_iters, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=10)),
        randomness=dict(seed=0), resume=resume, load_from=load_from, log_level='WARNING', launcher=launcher)


def _sparse_hook(runner):
    return next(h for h in runner.hooks if isinstance(h, DynamicSparseHook))


def test_runner_real_data_ema_checkpoint_resume(tmp_path):
    torch.set_num_threads(1)
    cfg = dict(type='largekernel.DynamicSparseHook', sparsity=0.4, init='snip', update_interval=6, prune_rate=0.5)
    runner = _tiny_runner(tmp_path, 'sparse_a', 24, cfg)
    runner.train()
    hook = _sparse_hook(runner)
    ema = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook').ema_model
    assert hook.num_steps == 24 and hook.num_updates == 4
    assert hook._total_steps == 24
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 24 and losses[-6:].mean() < losses[:6].mean() - 0.05, losses   # it learns
    counts = {n: int(m.sum()) for n, m in hook.masks.items()}
    ema_params = dict(ema.module.named_parameters())
    for name, p in hook.params.items():
        m = hook.masks[name]
        assert (p.detach()[~m] == 0).all() and (ema_params[name].detach()[~m] == 0).all(), name
    # SNIP from a real batch: per-layer densities differ, overall about the target
    dens = hook.densities()
    assert len(set(round(d, 4) for d in dens.values())) > 1
    assert sum(counts.values()) / sum(m.numel() for m in hook.masks.values()) == pytest.approx(0.6, abs=0.02)

    ckpt_path = osp.join(tmp_path, 'iter_24.pth')
    ckpt = torch.load(ckpt_path, weights_only=False)
    assert set(ckpt['sparse_masks']) == set(hook.masks) and ckpt['sparse_state']['num_steps'] == 24
    for name, m in hook.masks.items():
        assert torch.equal(ckpt['sparse_masks'][name], m.cpu())
        # the checkpoint's model weights (EMA-swapped by EMAHook) and the stored EMA copy respect the masks
        assert (ckpt['state_dict'][name][~m] == 0).all()
        assert (ckpt['ema_state_dict']['module.' + name][~m] == 0).all()

    # resume into a fresh runner and a fresh hook: masks, counters and generator come back
    runner2 = _tiny_runner(tmp_path, 'sparse_b', 30, cfg, resume=True, load_from=ckpt_path)
    runner2.train()
    hook2 = _sparse_hook(runner2)
    assert hook2.num_steps == 30 and hook2.num_updates == 5
    assert {n: int(m.sum()) for n, m in hook2.masks.items()} == counts

    # resuming without training further restores exactly the saved masks
    runner3 = _tiny_runner(tmp_path, 'sparse_c', 24, cfg, resume=True, load_from=ckpt_path)
    runner3.train()
    hook3 = _sparse_hook(runner3)
    assert hook3.num_steps == 24
    for name, m in hook.masks.items():
        assert torch.equal(hook3.masks[name], m)
    assert torch.equal(hook3.generator.get_state(), ckpt['sparse_state']['generator'])

    # load_from without resume (e.g. continuing sparse training from a sparse checkpoint): masks are adopted,
    # counters start again
    runner4 = _tiny_runner(tmp_path / 'load', 'sparse_d', 1, cfg, load_from=ckpt_path)
    runner4.train()
    hook4 = _sparse_hook(runner4)
    assert hook4.num_steps == 1 and hook4.num_updates == 0
    for name, m in hook.masks.items():
        assert torch.equal(hook4.masks[name], m)

    # resuming from a checkpoint without masks (SLaK --sparse_init resume): masks = non-zero weights, which can
    # only miss units regrown at the last update (still exactly 0); the step count follows the iteration
    del ckpt['sparse_masks'], ckpt['sparse_state']
    torch.save(ckpt, tmp_path / 'no_masks.pth')
    runner5 = _tiny_runner(tmp_path / 'derive', 'sparse_e', 24, cfg, resume=True,
                           load_from=str(tmp_path / 'no_masks.pth'))
    with pytest.warns(UserWarning, match='no sparse_masks'):
        runner5.train()
    hook5 = _sparse_hook(runner5)
    assert hook5.num_steps == 24 and hook5.masks.keys() == hook.masks.keys()
    for name, m in hook.masks.items():
        assert not (hook5.masks[name] & ~m).any() and int(hook5.masks[name].sum()) >= 0.9 * int(m.sum())


def test_fix_masks_and_checkpoint_validation():
    torch.manual_seed(0)
    model = TwoBranchNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hook = DynamicSparseHook(sparsity=0.5, init='uniform', update_interval=1, fix_masks=True)
    hook.setup(model, [opt])
    start = {n: m.clone() for n, m in hook.masks.items()}
    _train(model, hook, opt, 3)
    assert hook.num_updates == 0 and all(torch.equal(start[n], hook.masks[n]) for n in start)
    assert all((p.detach()[~hook.masks[n]] == 0).all() for n, p in hook.params.items())
    # saved masks must fit the model and the granularity
    other = DynamicSparseHook(sparsity=0.5, init='uniform', total_steps=5)
    with pytest.raises(KeyError, match='nope.weight'):
        other.load_masks(TwoBranchNet(), {'nope.weight': torch.ones(3, dtype=torch.bool)})
    with pytest.raises(ValueError, match='head.weight'):
        other.load_masks(TwoBranchNet(), {'head.weight': torch.ones(10, dtype=torch.bool)})
    with pytest.raises(ValueError, match="'filter'-level"):
        other.load_masks(TwoBranchNet(), start, dict(hook.state_dict(), granularity='filter'))


def test_masks_from_weights_resume():
    """SLaK's ``--sparse_init resume``: a checkpoint without masks gives masks = non-zeros of the weights."""
    torch.manual_seed(0)
    model = TwoBranchNet()
    first = DynamicSparseHook(sparsity=0.3, init='erk', total_steps=5, seed=4)
    first.setup(model)
    hook = DynamicSparseHook(sparsity=0.3, init='erk', total_steps=5)
    hook.masks_from_weights(model)
    assert hook.masks.keys() == first.masks.keys()
    for name, m in first.masks.items():
        assert torch.equal(hook.masks[name], m)


def _runner_rank_worker(rank, world, init_file, out_dir):
    import torch.distributed as dist
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))   # as torchrun sets them
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    cfg = dict(type='largekernel.DynamicSparseHook', sparsity=0.4, init='snip', update_interval=3, prune_rate=0.5)
    runner = _tiny_runner(osp.join(out_dir, f'work{rank}'), f'ddp{rank}', 9, cfg, launcher='pytorch')
    runner.train()
    hook = _sparse_hook(runner)
    torch.save({'masks': dict(hook.masks), 'weights': {n: p.detach() for n, p in hook.params.items()},
                'updates': hook.num_updates, 'wrapped': type(runner.model).__name__},
               osp.join(out_dir, f'rank{rank}.pth'))
    _exit_without_teardown()


@pytest.mark.slow
def test_runner_ddp_two_gloo_ranks(tmp_path):
    """The hook inside mmengine's Runner under MMDistributedDataParallel (2 CPU ranks, each its own data shard):
    identical masks and masked weights on both ranks."""
    import torch.multiprocessing as mp
    mp.spawn(_runner_rank_worker, args=(2, str(tmp_path / 'rdv'), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pth', weights_only=False) for r in (0, 1))
    assert r0['wrapped'] == 'MMDistributedDataParallel' and r0['updates'] == r1['updates'] == 3
    for name in r0['masks']:
        assert torch.equal(r0['masks'][name], r1['masks'][name]), name
        assert torch.equal(r0['weights'][name], r1['weights'][name]), name
        assert (r0['weights'][name][~r0['masks'][name]] == 0).all()


# ---------------------------------------------------------------------------------------------------------------
# fine-tuning a sparse checkpoint downstream (KeepSparsityHook)
# ---------------------------------------------------------------------------------------------------------------
def _finetune_runner(work_dir, max_iters, hook_cfg, load_from=None, resume=False):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Detector(BaseModel):
        """A 'backbone' (the sparse ImageNet part) and a dense 'head'."""

        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1),
                                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(16, 10)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            logits = self.head(self.backbone(inputs))
            return dict(loss=F.cross_entropy(logits, data_samples)) if mode == 'loss' else logits

    class Images(torch.utils.data.Dataset):
        def __init__(self):
            self.x, self.y = _real_images(64)

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return dict(inputs=self.x[i], data_samples=self.y[i])

    torch.manual_seed(0)
    return Runner(
        model=Detector(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=Images(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=8,
                              num_workers=0, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        # AdamW: its moments would revive zeroed weights at once if the masks were not re-applied after each step
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.05), accumulative_counts=2),
        custom_hooks=[dict(type='largekernel.StepEMAHook', momentum=0.1), hook_cfg],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=4, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=100)),
        randomness=dict(seed=0), load_from=load_from, resume=resume, log_level='WARNING')


def _sparse_checkpoint(path, sparsity=0.5):
    """A checkpoint of the model with half of each backbone conv weight zeroed (what SLaK / SW training leaves)."""
    runner = _finetune_runner(path.parent / 'init', 1, dict(type='largekernel.KeepSparsityHook', dense_finetune=True))
    state = runner.model.state_dict()
    g = torch.Generator().manual_seed(1)
    for name in ('backbone.0.weight', 'backbone.2.weight'):
        state[name] = state[name] * (torch.rand(state[name].shape, generator=g) >= sparsity)
    torch.save(dict(state_dict=state, meta=dict()), path)
    return {n: state[n] != 0 for n in ('backbone.0.weight', 'backbone.2.weight')}, state


def test_keep_sparsity_finetune_keeps_the_pattern_and_resumes(tmp_path):
    from largekernel.engine import KeepSparsityHook
    masks, start = _sparse_checkpoint(tmp_path / 'sparse.pth')
    cfg = dict(type='largekernel.KeepSparsityHook')
    runner = _finetune_runner(tmp_path / 'a', 8, cfg, load_from=str(tmp_path / 'sparse.pth'))
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, KeepSparsityHook))
    assert set(hook.masks) == set(masks)                          # the dense head is not masked
    params = dict(runner.model.named_parameters())
    ema = dict(next(h for h in runner.hooks if hasattr(h, 'ema_model')).ema_model.module.named_parameters())
    for name, m in masks.items():
        assert torch.equal(hook.masks[name], m)
        assert (params[name].detach()[~m] == 0).all() and (ema[name].detach()[~m] == 0).all(), name
        assert not torch.equal(params[name].detach()[m], start[name][m])    # the kept weights do train
    ckpt = torch.load(tmp_path / 'a' / 'iter_8.pth', weights_only=False)
    for name, m in masks.items():
        assert torch.equal(ckpt['sparse_masks'][name], m)
        assert (ckpt['state_dict'][name][~m] == 0).all() and (ckpt['ema_state_dict']['module.' + name][~m] == 0).all()

    # resume: the stored masks come back (not re-derived: a weight zeroed in the checkpoint stays trainable)
    ckpt = torch.load(tmp_path / 'a' / 'iter_4.pth', weights_only=False)
    ckpt['state_dict']['backbone.2.weight'].view(-1)[masks['backbone.2.weight'].view(-1).nonzero()[0]] = 0
    torch.save(ckpt, tmp_path / 'tampered.pth')
    resumed = _finetune_runner(tmp_path / 'b', 8, cfg, load_from=str(tmp_path / 'tampered.pth'), resume=True)
    resumed.train()
    hook = next(h for h in resumed.hooks if isinstance(h, KeepSparsityHook))
    for name, m in masks.items():
        assert torch.equal(hook.masks[name], m)
        assert (dict(resumed.model.named_parameters())[name].detach()[~m] == 0).all()


def test_dense_finetune_switch_trains_the_zeros(tmp_path):
    masks, _ = _sparse_checkpoint(tmp_path / 'sparse.pth')
    runner = _finetune_runner(tmp_path / 'dense', 4, dict(type='largekernel.KeepSparsityHook', dense_finetune=True),
                              load_from=str(tmp_path / 'sparse.pth'))
    runner.train()
    params = dict(runner.model.named_parameters())
    for name, m in masks.items():
        assert (params[name].detach()[~m] != 0).float().mean() > 0.5, name   # (units of dead ReLUs get no gradient)
    assert 'sparse_masks' not in torch.load(tmp_path / 'dense' / 'iter_4.pth', weights_only=False)


def test_dense_checkpoint_in_a_sparse_finetune_config_raises(tmp_path):
    runner = _finetune_runner(tmp_path / 'init', 1, dict(type='largekernel.KeepSparsityHook', dense_finetune=True))
    torch.save(dict(state_dict=runner.model.state_dict(), meta=dict()), tmp_path / 'dense.pth')
    runner = _finetune_runner(tmp_path / 'x', 2, dict(type='largekernel.KeepSparsityHook'),
                              load_from=str(tmp_path / 'dense.pth'))
    with pytest.raises(ValueError, match='weights are dense.*dense_finetune=True'):
        runner.train()
    with pytest.raises(ValueError, match='dense_threshold'):
        from largekernel.engine import KeepSparsityHook
        KeepSparsityHook(dense_threshold=0)
