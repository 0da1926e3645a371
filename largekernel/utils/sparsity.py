"""Parameter and MAC counts of sparse-trained models (SLaK, ICLR 2023).

SLaK's published "params" and "FLOPs" are those of the 40%-sparse trained networks: non-zero weights, and MACs of
the remaining connections. The official sparse trainer (``sparse_core.Masking``) masks every 2-D or 4-D parameter
(all Linear and Conv weights, head included; with ``--only-L`` only the large-kernel strips, names containing
``large_kernel.LoRA``) and never BN/LN/biases/layer scales. Its per-tensor densities come from SNIP on one batch of
data; the functions here use the data-free uniform rule instead (every masked tensor keeps
``round(density * numel)`` weights, or filters for filter-wise masks), which reproduces the published parameter
counts (SNIP only moves density between tensors) and the published MACs approximately.
"""
import math

import torch
from torch import nn

from ..engine.sparse import expand_mask, random_mask, select_sparse_params, unit_shape
from .complexity import _conv_macs, _linear_macs, count_macs

SLAK_STRIPS = (r'large_kernel\.LoRA',)  # ``include`` of the official ``--only-L``: the large-kernel strips only


def maskable_parameters(model, include=None, exclude=()):
    """``[(name, parameter)]`` masked by sparse training, selected exactly as ``largekernel.DynamicSparseHook``
    does: every 2-D/4-D weight (``include=None``, SLaK's rule), or those matching the ``include`` / not matching
    the ``exclude`` regexes (e.g. ``include=SLAK_STRIPS``)."""
    return list(select_sparse_params(model.named_parameters(), include, exclude).items())


def kept_count(shape, density, granularity='element'):
    """Weights a tensor of ``shape`` keeps at ``density`` under the uniform rule: ``round(density * units)`` (at
    least one) mask units, as ``largekernel.engine.sparse.random_mask``; a unit is an element or a filter."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f'density must lie in (0, 1], got {density}')
    units = math.prod(unit_shape(shape, granularity))
    return min(units, max(1, round(density * units))) * (math.prod(shape) // units)


def sparse_param_count(model, density=0.6, include=None, exclude=(), granularity='element'):
    """Parameters of ``model`` left after masking at ``density`` (uniform rule): the kept entries of the masked
    tensors plus every unmasked parameter. Works on the ``meta`` device (no data needed)."""
    masked = {id(p) for _, p in maskable_parameters(model, include, exclude)}
    return sum(kept_count(p.shape, density, granularity) if id(p) in masked else p.numel()
               for p in model.parameters())


@torch.no_grad()
def apply_random_masks(model, density=0.6, seed=0, include=None, exclude=(), granularity='element'):
    """Zero all but the kept units (drawn uniformly at random, deterministic for a given ``seed``) of every masked
    tensor, in place, with the hook's own mask sampler. Returns ``{name: bool mask in unit shape}``.

    On a model whose weights are all non-zero, ``count_params(model, nonzero=True)`` then equals
    ``sparse_param_count(model, density)``.
    """
    kept_count((1,), density)  # validates density
    generator = torch.Generator().manual_seed(seed)
    masks = {}
    for name, p in maskable_parameters(model, include, exclude):
        mask = random_mask(unit_shape(p.shape, granularity), density, generator, device=p.device)
        p.mul_(expand_mask(mask, p))
        masks[name] = mask
    return masks


def sparse_macs(model, density=0.6, input_shape=(1, 3, 224, 224), inputs=None, include=None, exclude=(),
                granularity='element'):
    """MACs per image (``largekernel.utils.count_macs`` convention) when each masked Conv2d/Linear weight keeps
    ``density`` of its entries: a layer's MACs scale with its kept fraction (uniform rule). Layers inside a module
    with its own ``count_macs`` are left to that method."""
    masked = {id(p) for _, p in maskable_parameters(model, include, exclude)}
    custom = {id(sub) for m in model.modules() if m is not model and hasattr(m, 'count_macs') for sub in m.modules()}
    removed = [0]

    def hook(module, args, output):
        macs = _conv_macs(module, output) if isinstance(module, nn.Conv2d) else _linear_macs(module, output)
        numel = module.weight.numel()
        removed[0] += macs * (numel - kept_count(module.weight.shape, density, granularity)) / numel

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear)) and id(m.weight) in masked and id(m) not in custom]
    try:
        total = count_macs(model, input_shape, inputs)
    finally:
        for h in handles:
            h.remove()
    batch = inputs.shape[0] if inputs is not None else input_shape[0]
    return int(round(total - removed[0] / batch))


def sparse_kwargs(hook_cfg):
    """``density``, ``include``, ``exclude``, ``granularity`` of a ``largekernel.DynamicSparseHook`` config dict,
    for the functions above (e.g. ``sparse_param_count(model, **sparse_kwargs(cfg.custom_hooks[i]))``)."""
    return dict(density=1.0 - hook_cfg['sparsity'], include=hook_cfg.get('include'),
                exclude=tuple(hook_cfg.get('exclude', ())), granularity=hook_cfg.get('granularity', 'element'))
