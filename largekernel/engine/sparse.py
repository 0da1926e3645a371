"""Dynamic sparse training (prune-and-grow) as an mmengine hook, for SLaK and ShiftwiseConv (SW), and sparse
fine-tuning downstream.

Fine-tuning a sparse checkpoint (detection, segmentation, 3-D)
-------------------------------------------------------------
``KeepSparsityHook`` (``largekernel.KeepSparsityHook``, inherited from ``configs/_base_/sparse_finetune.py``) keeps
the ImageNet sparsity pattern of a SLaK / SW checkpoint, as the official downstream code does: masks are the
non-zeros of the loaded weights (or, on resume, the masks stored in the checkpoint), re-applied after every
optimizer step, saved as ``checkpoint['sparse_masks']``. A dense checkpoint in such a config raises. The switch
``dense_finetune=True`` (e.g. ``--cfg-options custom_hooks.0.dense_finetune=True``) fine-tunes densely instead.

``DynamicSparseHook`` (registered as ``largekernel.DynamicSparseHook``) keeps a fixed fraction of selected weight
tensors at zero and periodically moves the zeros: it prunes the weakest active units and regrows as many at random
(SLaK; ShiftwiseConv §3.4-3.7).

Options (all keyword arguments of the hook)
-------------------------------------------
``sparsity``           fraction of masked units that are zero; the density ``1 - sparsity`` must lie in (0, 1].
``granularity``        ``'element'`` (one mask entry per weight, SLaK) or ``'filter'`` (one entry per output filter,
                       i.e. per row of a 2-D / per ``[o]`` slice of a 4-D weight; SW's coarse ``rep_coarse`` mode).
``include``            ``None``: every parameter with 2 or 4 dims whose name ends in ``weight`` (all conv / linear
                       weights incl. stem, downsampling and head; SLaK's rule minus GRN-like 4-D ``gamma``/``beta``,
                       which SLaK does not have). Or a list of regexes (``re.search`` on the parameter name relative to
                       the unwrapped model, e.g. ``backbone.stages.0.0...``): only those 2-D/4-D weights (SW's
                       ``--only_L``). Each pattern must match at least one such tensor.
``exclude``            regexes removed from the selection (each must match a selected tensor).
``init``               per-tensor initial density: ``'snip'`` (one training batch: score ``|w * dL/dw|``, mean over a
                       filter for filter masks; one global top-k over all units keeps ``density`` of them; a tensor's
                       density = its kept fraction), ``'uniform'`` (every tensor at ``density``), ``'erk'``
                       (Erdos-Renyi-Kernel: density proportional to ``sum(shape) / prod(shape)``, scaled to the global
                       budget, tensors that would exceed 1 made dense). SNIP only decides the *ratios*: the initial
                       masks are random at those densities, as in both papers (exactly ``round(d * units)``
                       active units, at least one, where the papers draw a Bernoulli(d) per unit). The SNIP loss is
                       the model's own ``mode='loss'`` loss on one batch of the train dataloader, run through the data
                       preprocessor with ``training=False`` (no mixup/cutmix; SLaK: plain cross-entropy on the raw
                       labels), on a deep copy of the model (BN statistics untouched).
``dense_threshold``    tensors (or branch groups) whose initial density is ``>=`` this (0.99 in both papers) are not
                       masked at all (so with SNIP the kept fraction of all *selected* weights is ``1 - sparsity``,
                       and that of the tensors left masked is lower).
``prune``              ``'magnitude'`` (element masks: smallest ``|w|``) or ``'magnitude_sum'`` (filter masks:
                       smallest L1 norm of the filter). Each update removes ``ceil(rate * active)`` units per tensor.
``grow``               ``'random'``: re-activate exactly as many units as were pruned, uniformly at random among the
                       inactive ones (regrown weights start at 0). The papers draw a Bernoulli with the same expected
                       count; we draw the exact count so every tensor's density is held exactly.
``prune_rate``         prune fraction at step 0, cosine-annealed to ``prune_rate_end`` (0.005 in both codebases) over
``total_steps``        optimizer steps (``None``: the runner's ``max_iters / accumulative_counts``).
``update_interval``    prune/grow every ``u`` optimizer steps (SLaK ``-u``; SW ``u``). Optimizer steps, not
                       iterations: with ``accumulative_counts=8`` one step is counted per 8 iterations, as in SLaK.
``branch_groups``      regexes with exactly one capture group marking the re-parameterisation branch index
                       (e.g. ``r'mixer\\.convs\\.(\\d+)\\.weight$'``): masked tensors whose names agree outside that
                       group form one branch group (ordered by the index). A group gets one initial density (the mean
                       of its members' SNIP/ERK densities: SW's "mean" init, exp. #15) and one shared initial mask.
``sync_gap``           with branch groups: at update number ``k`` (``k = step // u``) with ``k % sync_gap == 0``,
                       branch 0 is pruned on the summed scores of all branches and its new mask is copied to all of
                       them (SW ``--sparse_gap``); at other updates every branch prunes/grows on its own.
                       ``None``: never re-synchronised after the shared initial mask.
``fix_masks``          keep the initial masks, never prune/grow (SLaK ``--fix``).
``mask_optim_states``  optimizer state entries masked together with the weights (default: SGD's
                       ``momentum_buffer``, as SLaK; Adam(W) moments are left alone, as in both codebases).
``seed``               seed of the hook's own random generator (``None``: the runner's seed).

Paper settings (ready to paste into ``custom_hooks``)
-----------------------------------------------------
SLaK-T (``--sparse --sparsity 0.4 --sparse_init snip --prune magnitude --growth random --prune_rate 0.5 -u 2000``;
S/B: ``prune_rate=0.3, update_interval=100``)::

    dict(type='largekernel.DynamicSparseHook', sparsity=0.4, granularity='element', include=None,
         init='snip', prune='magnitude', grow='random', prune_rate=0.5, update_interval=2000)

SW-T (``--sparse_type rep_coarse --sparse_init snip --sparsity 0.3 --prune_rate 0.3 --growth random -u 100
--only_L --sparse_gap 131``; adjust the two regexes to the SW backbone's parameter names: ``include`` = the
large-kernel group-conv weights of all branches, ``branch_groups`` = the same with the branch index captured)::

    dict(type='largekernel.DynamicSparseHook', sparsity=0.3, granularity='filter',
         include=[r'backbone\\..*\\.lk_convs\\.\\d+\\.weight$'],
         branch_groups=[r'backbone\\..*\\.lk_convs\\.(\\d+)\\.weight$'], sync_gap=131,
         init='snip', prune='magnitude_sum', grow='random', prune_rate=0.3, update_interval=100)

Behaviour under the Runner
--------------------------
* Steps. A step post-hook on every optimizer that owns a masked tensor re-applies the masks (weights and
  ``mask_optim_states``) right after each *real* ``optimizer.step()``, whatever the optim wrapper (plain, AMP,
  gradient accumulation). Under AMP a step skipped for inf/NaN gradients never calls ``optimizer.step()``: the
  weights are untouched, so they stay masked, and the skipped step is not counted. (SLaK's AMP path never masks.)
  ``after_train_iter`` counts the real steps and runs the prune/grow update every ``update_interval`` of them.
  Masks are applied with ``masked_fill`` (an inf/NaN at a masked position still becomes 0).
* Not for FSDP / ZeRO-sharded parameters (masks are applied to whole local tensors).
* DDP. Every rank computes the same steps (own generator, same seed, SNIP on its own batch); after the initial
  masks and after each update rank 0's masks are broadcast (one uint8 buffer), so masks are identical on every
  rank by construction (not by relying on bit-identical arithmetic).
* Checkpoints. ``before_save_checkpoint`` stores ``checkpoint['sparse_masks']`` (name -> bool mask in unit shape)
  and ``checkpoint['sparse_state']`` (step/update counters, generator state, granularity). ``after_load_checkpoint``
  restores the masks (resume or ``load_from``) and, when resuming, the counters and generator. Resuming from a
  checkpoint without masks derives them from the loaded weights' non-zeros (SLaK's ``--sparse_init resume``), with
  a warning.
* EMA (SLaK's "SEMA"). Every averaged model found on a hook (``hook.ema_model``, e.g. mmengine's ``EMAHook``) has its
  ``update_parameters`` wrapped: after each EMA update the EMA copies of masked tensors are masked, and units regrown
  by an update are set to the live weights at the first EMA update that follows the next real optimizer step (so
  the EMA of a regrown weight restarts from its first trained value instead of decaying up from zero). After each
  prune/grow the EMA is masked at once. The reset is ordered by a counter of ``optimizer.step()`` calls kept by
  the step post-hook (which always runs before any ``after_train_iter``), and the masking happens inside the EMA
  update itself, so the result does not depend on the hooks' priorities (checked in tests/test_sparse.py).
"""
import math
import re
import warnings
from collections import OrderedDict

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import BaseAveragedModel, is_model_wrapper

from ..registry import HOOKS
from .fsdp import check_not_fsdp

GRANULARITIES = ('element', 'filter')
INIT_MODES = ('snip', 'uniform', 'erk')
PRUNE_MODES = {'magnitude': 'element', 'magnitude_sum': 'filter'}
GROW_MODES = ('random',)


# ---------------------------------------------------------------------------------------------------------------
# Pure mask computations
# ---------------------------------------------------------------------------------------------------------------
def select_sparse_params(named_params, include=None, exclude=()):
    """Names of the tensors to mask: 2-D/4-D ``*weight`` parameters, filtered by regex ``include``/``exclude``."""
    candidates = OrderedDict((n, p) for n, p in named_params if p.dim() in (2, 4) and n.endswith('weight'))
    if include is None:
        selected = OrderedDict(candidates)
    else:
        selected = OrderedDict()
        for pattern in include:
            hits = [n for n in candidates if re.search(pattern, n)]
            if not hits:
                raise ValueError(f'DynamicSparseHook: include pattern {pattern!r} matches no 2-D/4-D weight; '
                                 f'candidates are e.g. {list(candidates)[:5]}')
            selected.update((n, candidates[n]) for n in hits)
        selected = OrderedDict((n, p) for n, p in candidates.items() if n in selected)
    for pattern in exclude:
        hits = [n for n in selected if re.search(pattern, n)]
        if not hits:
            raise ValueError(f'DynamicSparseHook: exclude pattern {pattern!r} matches no selected tensor')
        for n in hits:
            del selected[n]
    if not selected:
        raise ValueError('DynamicSparseHook: no tensor selected for masking')
    return selected


def unit_shape(weight_shape, granularity):
    """Shape of a mask: the weight's shape (element) or ``(out_channels,)`` (filter)."""
    return tuple(weight_shape) if granularity == 'element' else (weight_shape[0],)


def expand_mask(mask, weight):
    """View of a unit mask that broadcasts against ``weight``."""
    return mask if mask.dim() == weight.dim() else mask.view(-1, *([1] * (weight.dim() - 1)))


def magnitude_scores(weight, granularity):
    """``|w|`` per element, or the L1 norm per output filter (``magnitude_sum``)."""
    w = weight.detach().abs()
    return w if granularity == 'element' else w.flatten(1).sum(1)


def snip_unit_scores(weight, grad, granularity):
    """SNIP saliency ``|w * g|`` per element, or its mean over each output filter."""
    s = (weight.detach() * grad.detach()).abs()
    return s if granularity == 'element' else s.flatten(1).mean(1)


def snip_densities(scores, density):
    """Per-tensor densities from one global top-k over all unit scores keeping ``int(density * total)`` units."""
    flat = torch.cat([s.flatten().float().cpu() for s in scores.values()])
    keep = torch.zeros(flat.numel(), dtype=torch.bool)
    keep[torch.topk(flat, int(density * flat.numel()), sorted=False).indices] = True
    out, start = OrderedDict(), 0
    for name, s in scores.items():
        out[name] = keep[start:start + s.numel()].float().mean().item()
        start += s.numel()
    return out


def uniform_densities(shapes, density):
    return OrderedDict((name, float(density)) for name in shapes)


def erk_densities(shapes, density, granularity='element'):
    """Erdos-Renyi-Kernel densities (RigL): ``d_l = eps * sum(shape_l) / prod(shape_l)``, ``eps`` set so that the
    kept units sum to ``density`` of all units; tensors that would exceed 1 become dense and the rest re-balanced."""
    units = {n: math.prod(unit_shape(s, granularity)) for n, s in shapes.items()}
    raw = {n: sum(s) / math.prod(s) for n, s in shapes.items()}
    budget_total = density * sum(units.values())
    dense = set()
    while True:
        budget = budget_total - sum(units[n] for n in dense)
        denom = sum(raw[n] * units[n] for n in shapes if n not in dense)
        if denom == 0:
            break
        eps = budget / denom
        over = [n for n in shapes if n not in dense and eps * raw[n] > 1]
        if not over:
            break
        dense.add(max(over, key=lambda n: raw[n]))
    return OrderedDict((n, 1.0 if n in dense else min(1.0, eps * raw[n])) for n in shapes)


def random_mask(shape, density, generator, device=None):
    """Bool mask with exactly ``round(density * numel)`` (at least one) active units at random positions."""
    numel = math.prod(shape)
    k = min(numel, max(1, round(density * numel)))
    mask = torch.zeros(numel, dtype=torch.bool)
    mask[torch.randperm(numel, generator=generator)[:k]] = True
    return mask.view(shape).to(device)


def prune_mask(mask, scores, num_remove):
    """Drop the ``num_remove`` lowest-scoring active units: keep the top ``active - num_remove`` active ones."""
    flat = mask.flatten()
    num_keep = int(flat.sum().item()) - num_remove
    ranked = torch.where(flat, scores.flatten().float(), torch.full_like(flat, float('-inf'), dtype=torch.float))
    new = torch.zeros_like(flat)
    if num_keep > 0:
        new[torch.topk(ranked, num_keep, sorted=False).indices] = True
    return new.view_as(mask)


def grow_random(mask, num_grow, generator):
    """Activate ``num_grow`` inactive units chosen uniformly at random (without replacement)."""
    flat = mask.flatten().clone()
    zeros = (~flat).nonzero().flatten()
    if num_grow > zeros.numel():
        raise ValueError(f'cannot grow {num_grow} units: only {zeros.numel()} inactive')
    pick = torch.randperm(zeros.numel(), generator=generator)[:num_grow].to(zeros.device)
    flat[zeros[pick]] = True
    return flat.view_as(mask)


def cosine_prune_rate(step, total_steps, start, end):
    """Cosine annealing from ``start`` at step 0 to ``end`` at ``total_steps`` (constant afterwards)."""
    t = min(step, total_steps) / total_steps
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * t))


def prune_and_grow(mask, scores, prune_rate, generator):
    """One update of one mask: prune ``ceil(rate * active)`` units by score, regrow as many at random.

    Returns ``(new_mask, grown)``; ``grown`` marks units active now that were inactive before the update."""
    num_remove = math.ceil(prune_rate * int(mask.sum().item()))
    pruned = prune_mask(mask, scores, num_remove)
    new = grow_random(pruned, num_remove, generator)
    return new, new & ~mask


def find_branch_groups(names, patterns):
    """Group ``names`` by ``patterns`` (regexes with one capture group = branch index).

    Returns a list of name lists (each ordered by branch index, >= 2 members)."""
    groups, taken = OrderedDict(), set()
    for pattern in patterns:
        regex = re.compile(pattern)
        if regex.groups != 1:
            raise ValueError(f'DynamicSparseHook: branch_groups pattern {pattern!r} must have exactly one capture '
                             f'group (the branch index), it has {regex.groups}')
        hits = 0
        for name in names:
            m = regex.search(name)
            if m is None or name in taken:
                continue
            hits += 1
            taken.add(name)
            key = (pattern, name[:m.start(1)] + '*' + name[m.end(1):])
            index = m.group(1)
            groups.setdefault(key, []).append((int(index) if index.isdigit() else index, name))
        if not hits:
            raise ValueError(f'DynamicSparseHook: branch_groups pattern {pattern!r} matches no masked tensor')
    result = [[n for _, n in sorted(members)] for members in groups.values() if len(members) > 1]
    if patterns and not result:
        raise ValueError(f'DynamicSparseHook: branch_groups {list(patterns)} form no group with two or more '
                         f'branches (every match is alone in its group)')
    return result


# ---------------------------------------------------------------------------------------------------------------
# The hook
# ---------------------------------------------------------------------------------------------------------------
def _check_patterns(value, arg):
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    value = list(value)
    for p in value:
        if not isinstance(p, str):
            raise TypeError(f'DynamicSparseHook: {arg} must be regex strings, got {p!r}')
        try:
            re.compile(p)
        except re.error as e:
            raise ValueError(f'DynamicSparseHook: {arg} pattern {p!r} is not a valid regex: {e}') from e
    return value


def _wrap_ema_update(ema_model, after):
    """Call ``after(ema_model)`` after every ``update_parameters`` of an averaged model (both sparse hooks keep their
    EMA copies masked this way); ``_unwrap_ema_update`` restores the class method."""
    original = ema_model.update_parameters

    def update_parameters(model):
        original(model)
        after(ema_model)

    ema_model.update_parameters = update_parameters


def _unwrap_ema_update(ema_model):
    ema_model.__dict__.pop('update_parameters', None)


@HOOKS.register_module()
class DynamicSparseHook(Hook):
    """Dynamic sparse training (SLaK / ShiftwiseConv); see the module docstring for every option."""

    priority = 'ABOVE_NORMAL'

    def __init__(self, sparsity, granularity='element', include=None, exclude=(), init='snip', prune='magnitude',
                 grow='random', prune_rate=0.5, prune_rate_end=0.005, update_interval=100, total_steps=None,
                 branch_groups=None, sync_gap=None, dense_threshold=0.99, fix_masks=False,
                 mask_optim_states=('momentum_buffer',), seed=None):
        if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0 < 1 - sparsity <= 1:
            raise ValueError(f'DynamicSparseHook: density = 1 - sparsity must lie in (0, 1], i.e. sparsity in '
                             f'[0, 1); got sparsity={sparsity!r}')
        if granularity not in GRANULARITIES:
            raise ValueError(f'DynamicSparseHook: unknown granularity {granularity!r}; valid: {GRANULARITIES}')
        if init not in INIT_MODES:
            raise ValueError(f'DynamicSparseHook: unknown init {init!r}; valid: {INIT_MODES}')
        if prune not in PRUNE_MODES:
            raise ValueError(f'DynamicSparseHook: unknown prune mode {prune!r}; valid: {tuple(PRUNE_MODES)}')
        if PRUNE_MODES[prune] != granularity:
            raise ValueError(f'DynamicSparseHook: prune={prune!r} works on {PRUNE_MODES[prune]} masks but '
                             f'granularity={granularity!r}; use prune='
                             f'{"magnitude_sum" if granularity == "filter" else "magnitude"!r}')
        if grow not in GROW_MODES:
            raise ValueError(f'DynamicSparseHook: unknown grow mode {grow!r}; valid: {GROW_MODES}')
        for arg, value in (('prune_rate', prune_rate), ('prune_rate_end', prune_rate_end)):
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f'DynamicSparseHook: {arg} must lie in [0, 1], got {value!r}')
        if isinstance(update_interval, bool) or not isinstance(update_interval, int) or update_interval < 1:
            raise ValueError(f'DynamicSparseHook: update_interval must be a positive int (optimizer steps), got '
                             f'{update_interval!r}')
        if total_steps is not None and (not isinstance(total_steps, int) or total_steps < 1):
            raise ValueError(f'DynamicSparseHook: total_steps must be a positive int or None, got {total_steps!r}')
        if sync_gap is not None and (isinstance(sync_gap, bool) or not isinstance(sync_gap, int) or sync_gap < 1):
            raise ValueError(f'DynamicSparseHook: sync_gap must be a positive int or None, got {sync_gap!r}')
        if sync_gap is not None and not branch_groups:
            raise ValueError(f'DynamicSparseHook: sync_gap={sync_gap} needs branch_groups (which tensors to sync)')
        if not 0 < dense_threshold <= 1:
            raise ValueError(f'DynamicSparseHook: dense_threshold must lie in (0, 1], got {dense_threshold!r}')
        self.density = 1.0 - float(sparsity)
        self.granularity = granularity
        self.include = _check_patterns(include, 'include')
        self.exclude = _check_patterns(exclude, 'exclude') or []
        self.init = init
        self.prune = prune
        self.grow = grow
        self.prune_rate = float(prune_rate)
        self.prune_rate_end = float(prune_rate_end)
        self.update_interval = update_interval
        self.total_steps = total_steps
        self.branch_patterns = _check_patterns(branch_groups, 'branch_groups') or []
        self.sync_gap = sync_gap
        self.dense_threshold = dense_threshold
        self.fix_masks = bool(fix_masks)
        self.mask_optim_states = tuple(mask_optim_states)
        self.seed = seed

        self.masks = OrderedDict()       # name -> bool mask in unit shape
        self.params = OrderedDict()      # name -> live parameter
        self.groups = []                 # lists of names sharing initial masks / synced updates
        self.num_steps = 0               # real optimizer steps taken
        self.num_updates = 0             # prune/grow updates done
        self.generator = None
        self._optimizers = []
        self._handles = []
        self._stepped = False
        self._serial = 0                 # optimizer.step() calls seen (orders EMA resets, see _after_ema_update)
        self._total_steps = None
        self._ema_models = []
        self._pending_reset = {}         # id(EMA model) -> (self._serial at the last update, {name: grown units})
        self._loaded = None              # masks/state from after_load_checkpoint, consumed in before_train
        self._derive_from_weights = False

    # ---- standalone API (the Runner hooks below call these) ----------------------------------------------------
    def setup(self, model, optimizers=(), loss_fn=None, total_steps=None, seed=None):
        """Select tensors, compute initial masks (``loss_fn(model_copy) -> loss`` for SNIP), broadcast, apply, and
        attach the step post-hook to ``optimizers``."""
        self.generator = torch.Generator().manual_seed(self._seed(seed))
        named = OrderedDict(model.named_parameters())
        selected = select_sparse_params(named.items(), self.include, self.exclude)
        if self.init == 'snip':
            if loss_fn is None:
                raise ValueError("DynamicSparseHook: init='snip' needs a batch (loss_fn) to score the weights")
            densities = self._snip(model, selected, loss_fn)
        elif self.init == 'erk':
            densities = erk_densities(OrderedDict((n, tuple(p.shape)) for n, p in selected.items()), self.density,
                                      self.granularity)
        else:
            densities = uniform_densities(selected, self.density)
        groups = find_branch_groups(list(selected), self.branch_patterns)
        for group in groups:
            self._check_group_shapes(group, selected)
            mean = sum(densities[n] for n in group) / len(group)
            densities.update((n, mean) for n in group)
        self.params = OrderedDict((n, p) for n, p in selected.items() if densities[n] < self.dense_threshold)
        if not self.params:
            warnings.warn(f'DynamicSparseHook: every selected tensor has initial density >= dense_threshold='
                          f'{self.dense_threshold}; nothing is masked')
        self.groups = [g for g in groups if g[0] in self.params]
        grouped = {n: g for g in self.groups for n in g}
        self.masks = OrderedDict()
        for name, p in self.params.items():
            if name in grouped and grouped[name][0] != name:
                self.masks[name] = self.masks[grouped[name][0]].clone()
            else:
                self.masks[name] = random_mask(unit_shape(p.shape, self.granularity), densities[name],
                                               self.generator, p.device)
        self._broadcast()
        self._attach(optimizers, total_steps)

    def load_masks(self, model, masks, state=None, optimizers=(), total_steps=None, seed=None):
        """Adopt saved masks (``name -> bool mask``) and, if given, the saved counters/generator state."""
        named = OrderedDict(model.named_parameters())
        self.generator = torch.Generator().manual_seed(self._seed(seed))
        if state is not None:
            if state.get('granularity', self.granularity) != self.granularity:
                raise ValueError(f"DynamicSparseHook: checkpoint masks are {state['granularity']!r}-level but "
                                 f'granularity={self.granularity!r}')
            self.num_steps = int(state['num_steps'])
            self.num_updates = int(state['num_updates'])
            self.generator.set_state(state['generator'])
        unknown = [n for n in masks if n not in named]
        if unknown:
            raise KeyError(f'DynamicSparseHook: checkpoint masks for unknown parameters {unknown[:5]}')
        self.params, self.masks = OrderedDict(), OrderedDict()
        for name, mask in masks.items():
            p = named[name]
            if tuple(mask.shape) != unit_shape(p.shape, self.granularity):
                raise ValueError(f'DynamicSparseHook: checkpoint mask {name!r} has shape {tuple(mask.shape)}, '
                                 f'expected {unit_shape(p.shape, self.granularity)} for weight {tuple(p.shape)}')
            self.params[name] = p
            self.masks[name] = mask.to(device=p.device, dtype=torch.bool)
        self.groups = find_branch_groups(list(self.params), self.branch_patterns)
        for group in self.groups:
            self._check_group_shapes(group, self.params)
        self._broadcast()
        self._attach(optimizers, total_steps)

    def masks_from_weights(self, model, optimizers=(), total_steps=None, seed=None):
        """SLaK ``--sparse_init resume``: masks = non-zero units of the selected weights."""
        selected = select_sparse_params(model.named_parameters(), self.include, self.exclude)
        masks = OrderedDict()
        for name, p in selected.items():
            m = magnitude_scores(p, self.granularity) != 0
            if m.float().mean().item() < self.dense_threshold:
                masks[name] = m
        self.load_masks(model, masks, None, optimizers, total_steps, seed)

    def apply_masks(self, ema=True):
        """Zero the masked units of the live weights, of ``mask_optim_states`` and (``ema``) of attached EMA
        models."""
        with torch.no_grad():
            for name, p in self.params.items():
                inactive = ~expand_mask(self.masks[name], p)
                p.masked_fill_(inactive, 0)
                for opt in self._optimizers:
                    state = opt.state.get(p, {})
                    for key in self.mask_optim_states:
                        if key in state and torch.is_tensor(state[key]) and state[key].shape == p.shape:
                            state[key].masked_fill_(inactive, 0)
        for averaged in self._ema_models if ema else ():
            self._mask_ema(averaged)

    def step(self):
        """Call once per training iteration (``after_train_iter`` does): if an optimizer stepped since the last
        call, count the step and prune/grow when it completes an update interval."""
        if self._stepped:
            self._stepped = False
            self.on_optimizer_step()

    def on_optimizer_step(self):
        """Count one real optimizer step; prune/grow when it completes an update interval."""
        self.num_steps += 1
        if not self.fix_masks and self.num_steps % self.update_interval == 0:
            self.update_masks()

    def current_prune_rate(self):
        return cosine_prune_rate(self.num_steps, self._total_steps, self.prune_rate, self.prune_rate_end)

    def update_masks(self):
        """One prune/grow update of every mask (synchronised across branch groups at sync updates)."""
        rate = self.current_prune_rate()
        self.num_updates += 1
        old = OrderedDict((n, m.clone()) for n, m in self.masks.items())
        sync = self.sync_gap is not None and (self.num_steps // self.update_interval) % self.sync_gap == 0
        done = set()
        if sync:
            for group in self.groups:
                scores = sum(magnitude_scores(self.params[n], self.granularity) for n in group)
                new, _ = prune_and_grow(self.masks[group[0]], scores, rate, self.generator)
                for n in group:
                    self.masks[n] = new.clone()
                done.update(group)
        for name, p in self.params.items():
            if name not in done:
                self.masks[name], _ = prune_and_grow(self.masks[name], magnitude_scores(p, self.granularity),
                                                     rate, self.generator)
        self._broadcast()
        for ema in self._ema_models:       # regrown units (merged with those of updates not yet reset)
            _, pending = self._pending_reset.get(id(ema), (None, {}))
            grown = OrderedDict((n, (self.masks[n] & ~old[n]) | pending.get(n, False)) for n in self.masks)
            self._pending_reset[id(ema)] = (self._serial, grown)
        self.apply_masks()

    def densities(self):
        """Current fraction of active units per masked tensor."""
        return OrderedDict((n, m.float().mean().item()) for n, m in self.masks.items())

    def state_dict(self):
        return dict(num_steps=self.num_steps, num_updates=self.num_updates, granularity=self.granularity,
                    generator=self.generator.get_state())

    def attach_ema(self, ema_model):
        """Keep an averaged model (``BaseAveragedModel``) masked and reset regrown units to the live value."""
        if any(e is ema_model for e in self._ema_models):
            return
        _wrap_ema_update(ema_model, self._after_ema_update)
        self._ema_models.append(ema_model)
        self._mask_ema(ema_model)

    def detach(self):
        """Remove the optimizer post-hooks and restore wrapped EMA update methods."""
        for h in self._handles:
            h.remove()
        self._handles = []
        for ema in self._ema_models:
            _unwrap_ema_update(ema)
        self._ema_models, self._pending_reset = [], {}

    # ---- Runner hooks ------------------------------------------------------------------------------------------
    def before_train(self, runner):
        check_not_fsdp(runner.model, type(self).__name__)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        optimizers = self._runner_optimizers(runner)
        total = self.total_steps or self._runner_total_steps(runner)
        seed = runner.seed if self.seed is None else self.seed
        if self._loaded is not None:
            masks, state = self._loaded
            self.load_masks(model, masks, state, optimizers, total, seed)
        elif self._derive_from_weights:
            warnings.warn('DynamicSparseHook: resumed checkpoint has no sparse_masks; masks are derived from the '
                          'non-zero weights (SLaK --sparse_init resume)')
            self.masks_from_weights(model, optimizers, total, seed)
            self.num_steps = runner.iter // self._accumulative_counts(runner)   # keep cadence and schedule
        else:
            self.setup(model, optimizers, self._runner_loss_fn(runner) if self.init == 'snip' else None, total, seed)
        self._loaded, self._derive_from_weights = None, False
        for hook in runner.hooks:
            ema = getattr(hook, 'ema_model', None)
            if isinstance(ema, BaseAveragedModel):
                self.attach_ema(ema)
        self.apply_masks()
        runner.logger.info(f'DynamicSparseHook: {len(self.masks)} masked tensors, overall density '
                           f'{self._overall_density():.4f} ({self.granularity}-level), step {self.num_steps}')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.step()

    def after_train(self, runner):
        self.detach()

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['sparse_masks'] = OrderedDict((n, m.detach().cpu().clone()) for n, m in self.masks.items())
        checkpoint['sparse_state'] = self.state_dict()

    def after_load_checkpoint(self, runner, checkpoint):
        if 'sparse_masks' in checkpoint:
            state = checkpoint.get('sparse_state') if runner._resume else None
            self._loaded = (checkpoint['sparse_masks'], state)
        elif runner._resume:
            self._derive_from_weights = True

    # ---- internals ---------------------------------------------------------------------------------------------
    def _seed(self, seed):
        seed = self.seed if seed is None else seed
        return 0 if seed is None else int(seed)

    def _attach(self, optimizers, total_steps):
        self.detach_optimizers()
        self._total_steps = total_steps or self.total_steps
        if self._total_steps is None and not self.fix_masks:
            raise ValueError('DynamicSparseHook: total_steps is needed for the prune-rate schedule')
        owned = {id(p) for p in self.params.values()}
        for opt in optimizers:
            if any(id(p) in owned for g in opt.param_groups for p in g['params']):
                self._optimizers.append(opt)
                self._handles.append(opt.register_step_post_hook(self._post_step))
        self.apply_masks()

    def detach_optimizers(self):
        for h in self._handles:
            h.remove()
        self._handles, self._optimizers = [], []

    def _post_step(self, optimizer, args, kwargs):
        self._stepped = True
        self._serial += 1
        self.apply_masks(ema=False)       # the EMA is masked after its own update (attach_ema)

    def _snip(self, model, selected, loss_fn):
        import copy
        clone = copy.deepcopy(model)
        clone.train()
        clone.zero_grad(set_to_none=True)
        loss_fn(clone).backward()
        cloned = dict(clone.named_parameters())
        scores = OrderedDict()
        for name, p in selected.items():
            grad = cloned[name].grad
            grad = torch.zeros_like(p) if grad is None else grad
            scores[name] = snip_unit_scores(p, grad, self.granularity)
        del clone
        return snip_densities(scores, self.density)

    def _check_group_shapes(self, group, params):
        shapes = {tuple(params[n].shape) for n in group}
        if len(shapes) != 1:
            raise ValueError(f'DynamicSparseHook: branch group {group} has differently shaped weights {shapes}')

    def _broadcast(self):
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1 or not self.masks:
            return
        first = next(iter(self.masks.values()))
        flat = torch.cat([m.flatten().to(device=first.device, dtype=torch.uint8) for m in self.masks.values()])
        dist.broadcast(flat, src=0)
        start = 0
        for name, m in self.masks.items():
            self.masks[name] = flat[start:start + m.numel()].view(m.shape).to(device=m.device, dtype=torch.bool)
            start += m.numel()

    def _ema_params(self, ema):
        return dict(ema.module.named_parameters())

    def _mask_ema(self, ema):
        params = self._ema_params(ema)
        with torch.no_grad():
            for name, mask in self.masks.items():
                if name in params:
                    params[name].masked_fill_(~expand_mask(mask, params[name]), 0)

    def _after_ema_update(self, ema):
        params = self._ema_params(ema)
        serial, grown = self._pending_reset.get(id(ema), (self._serial, {}))
        if serial < self._serial:          # an optimizer step has trained the regrown units since the update
            del self._pending_reset[id(ema)]
            with torch.no_grad():
                for name, g in grown.items():
                    if name in params:
                        sel = expand_mask(g, params[name]).expand_as(params[name])
                        params[name][sel] = self.params[name].detach()[sel].to(params[name].dtype)
        self._mask_ema(ema)

    def _overall_density(self):
        total = sum(m.numel() for m in self.masks.values())
        return sum(int(m.sum()) for m in self.masks.values()) / total if total else 1.0

    @staticmethod
    def _runner_optimizers(runner):
        from mmengine.optim import OptimWrapperDict
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
        return [w.optimizer for w in wrappers]

    @staticmethod
    def _accumulative_counts(runner):
        from mmengine.optim import OptimWrapperDict
        wrapper = runner.optim_wrapper
        if isinstance(wrapper, OptimWrapperDict):
            wrapper = next(iter(wrapper.values()))
        return getattr(wrapper, '_accumulative_counts', 1)

    def _runner_total_steps(self, runner):
        return max(1, math.ceil(runner.max_iters / self._accumulative_counts(runner)))

    @staticmethod
    def _runner_loss_fn(runner):
        batch = next(iter(runner.train_dataloader))

        def loss_fn(model):
            data = model.data_preprocessor(batch, False)
            losses = model(**data, mode='loss') if isinstance(data, dict) else model(*data, mode='loss')
            loss, _ = model.parse_losses(losses)
            return loss

        return loss_fn


# ---------------------------------------------------------------------------------------------------------------
# Fine-tuning a sparse checkpoint downstream
# ---------------------------------------------------------------------------------------------------------------
@HOOKS.register_module()
class KeepSparsityHook(Hook):
    """Fine-tune a SLaK / ShiftWise checkpoint keeping its ImageNet sparsity pattern (zeros stay zero).

    The official downstream backbones (``sparse=True``) rebuild the masks from the non-zeros of the loaded
    checkpoint and re-apply them at every forward (SLaK §4.6 downstream code; ShiftwiseConv's detection and
    segmentation configs). Here the masks are taken once, in ``before_train``, from the loaded weights: every 2-D/4-D
    ``*weight`` selected by ``include``/``exclude`` whose non-zero fraction is below ``dense_threshold`` gets the
    mask ``weight != 0``; a step post-hook re-applies them after every real ``optimizer.step()`` (also under
    gradient accumulation and AMP), and EMA copies found on other hooks are masked after each EMA update.
    Checkpoints carry ``checkpoint['sparse_masks']`` (name -> bool mask, the format of ``DynamicSparseHook``);
    resuming restores them exactly instead of re-deriving them.

    Args:
        include (list[str] | None): regexes on parameter names (``re.search``); default ``[r'^backbone\\.']``.
        exclude (list[str]): regexes removed from the selection.
        dense_threshold (float): tensors with at least this non-zero fraction stay dense (0.99, as SLaK).
        dense_finetune (bool): ``True`` fine-tunes densely: the hook does nothing (the zeros of the checkpoint
            become trainable weights). Default ``False`` (keep the sparsity, as the official code).
        require_sparse (bool): raise if the loaded weights have no sparse tensor (a dense checkpoint in a sparse
            fine-tuning config); default ``True``.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, include=None, exclude=(), dense_threshold=0.99, dense_finetune=False, require_sparse=True):
        if not 0 < dense_threshold <= 1:
            raise ValueError(f'KeepSparsityHook: dense_threshold must lie in (0, 1], got {dense_threshold!r}')
        self.include = _check_patterns(include, 'include') or [r'^backbone\.']
        self.exclude = _check_patterns(exclude, 'exclude') or []
        self.dense_threshold = float(dense_threshold)
        self.dense_finetune = bool(dense_finetune)
        self.require_sparse = bool(require_sparse)
        self.masks = OrderedDict()
        self.params = OrderedDict()
        self._handles = []
        self._ema_models = []
        self._loaded = None

    # ---- standalone API ----------------------------------------------------------------------------------------
    def masks_from_weights(self, model):
        """Masks = non-zeros of the selected weights that are sparse (non-zero fraction < ``dense_threshold``)."""
        selected = select_sparse_params(model.named_parameters(), self.include, self.exclude)
        masks = OrderedDict()
        for name, p in selected.items():
            m = p.detach() != 0
            if m.float().mean().item() < self.dense_threshold:
                masks[name] = m
        if not masks and self.require_sparse:
            raise ValueError(f'KeepSparsityHook: the loaded weights are dense (every one of the {len(selected)} '
                             f'selected tensors has a non-zero fraction >= dense_threshold={self.dense_threshold}); '
                             'load the sparse checkpoint, or set dense_finetune=True to fine-tune a dense model')
        return masks

    def attach(self, model, masks, optimizers=()):
        """Adopt ``masks`` (name -> bool mask of the weight's shape), apply them and hook ``optimizers``."""
        named = OrderedDict(model.named_parameters())
        unknown = [n for n in masks if n not in named]
        if unknown:
            raise KeyError(f'KeepSparsityHook: masks for parameters the model does not have: {unknown[:5]}')
        self.params, self.masks = OrderedDict(), OrderedDict()
        for name, mask in masks.items():
            p = named[name]
            if tuple(mask.shape) != tuple(p.shape):
                raise ValueError(f'KeepSparsityHook: mask {name!r} has shape {tuple(mask.shape)}, the weight '
                                 f'{tuple(p.shape)} (element masks only)')
            self.params[name] = p
            self.masks[name] = mask.to(device=p.device, dtype=torch.bool)
        self.detach()
        owned = {id(p) for p in self.params.values()}
        for opt in optimizers:
            if any(id(p) in owned for g in opt.param_groups for p in g['params']):
                self._handles.append(opt.register_step_post_hook(self._post_step))
        self.apply_masks()

    def apply_masks(self):
        with torch.no_grad():
            for name, p in self.params.items():
                p.masked_fill_(~self.masks[name], 0)
        for ema in self._ema_models:
            self._mask_ema(ema)

    def attach_ema(self, ema_model):
        _wrap_ema_update(ema_model, self._mask_ema)
        self._ema_models.append(ema_model)
        self._mask_ema(ema_model)

    def detach(self):
        for h in self._handles:
            h.remove()
        self._handles = []
        for ema in self._ema_models:
            _unwrap_ema_update(ema)
        self._ema_models = []

    # ---- Runner hooks ------------------------------------------------------------------------------------------
    def before_train(self, runner):
        check_not_fsdp(runner.model, type(self).__name__)
        if self.dense_finetune:
            runner.logger.info('KeepSparsityHook: dense_finetune=True, the checkpoint zeros are trained densely')
            return
        if any(isinstance(h, DynamicSparseHook) for h in runner.hooks):
            raise ValueError('KeepSparsityHook and DynamicSparseHook both own the masks: use DynamicSparseHook to '
                             'train sparse with prune/grow, KeepSparsityHook to fine-tune a sparse checkpoint')
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        masks = self._loaded if self._loaded is not None else self.masks_from_weights(model)
        self._loaded = None
        self.attach(model, masks, DynamicSparseHook._runner_optimizers(runner))
        for hook in runner.hooks:
            ema = getattr(hook, 'ema_model', None)
            if isinstance(ema, BaseAveragedModel):
                self.attach_ema(ema)
        total = sum(m.numel() for m in self.masks.values())
        density = sum(int(m.sum()) for m in self.masks.values()) / total if total else 1.0
        runner.logger.info(f'KeepSparsityHook: {len(self.masks)} sparse tensors kept at density {density:.4f}')

    def after_train(self, runner):
        self.detach()

    def before_save_checkpoint(self, runner, checkpoint):
        if not self.dense_finetune:
            checkpoint['sparse_masks'] = OrderedDict((n, m.detach().cpu().clone()) for n, m in self.masks.items())

    def after_load_checkpoint(self, runner, checkpoint):
        if runner._resume and 'sparse_masks' in checkpoint and not self.dense_finetune:
            self._loaded = checkpoint['sparse_masks']

    # ---- internals ---------------------------------------------------------------------------------------------
    def _post_step(self, optimizer, args, kwargs):
        with torch.no_grad():
            for name, p in self.params.items():
                p.masked_fill_(~self.masks[name], 0)

    def _mask_ema(self, ema):
        params = dict(ema.module.named_parameters())
        with torch.no_grad():
            for name, mask in self.masks.items():
                if name in params:
                    params[name].masked_fill_(~mask, 0)
