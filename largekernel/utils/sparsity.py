"""Parameter and MAC counts of sparse-trained models (SLaK, ICLR 2023; spec §4.3-4.4).

SLaK's published "params" and "FLOPs" are those of the 40%-sparse trained networks: non-zero weights, and MACs of
the remaining connections. The official sparse trainer (``sparse_core.Masking``) masks every 2-D or 4-D parameter
(all Linear and Conv weights, head included; with ``--only-L`` only the large-kernel strips, names containing
``large_kernel.LoRA``) and never BN/LN/biases/layer scales. Its per-tensor densities come from SNIP on one batch of
data; the functions here use the data-free uniform rule instead (every masked tensor keeps ``round(density * numel)``
weights), which reproduces the published parameter counts (SNIP only moves density between tensors) and the
published MACs approximately.
"""
import torch
from torch import nn

from ..engine.sparse import select_sparse_params
from .complexity import _conv_macs, _linear_macs, count_macs

STRIP_PATTERN = r'large_kernel\.LoRA'


def maskable_parameters(model, only_strips=False):
    """``[(name, parameter)]`` that SLaK's sparse training masks, selected exactly as ``largekernel.DynamicSparseHook``
    does with ``include=None`` (every 2-D/4-D weight), or with ``only_strips`` (official ``--only-L``) only the
    large-kernel strips (``include=[STRIP_PATTERN]``)."""
    return list(select_sparse_params(model.named_parameters(), [STRIP_PATTERN] if only_strips else None).items())


def kept_count(numel, density):
    """Weights a tensor of ``numel`` entries keeps at ``density`` under the uniform rule."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f'density must lie in (0, 1], got {density}')
    return int(round(density * numel))


def sparse_param_count(model, density=0.6, only_strips=False):
    """Parameters of ``model`` left after masking at ``density`` (uniform rule): the kept entries of the masked
    tensors plus every unmasked parameter. Works on the ``meta`` device (no data needed)."""
    masked = {id(p) for _, p in maskable_parameters(model, only_strips)}
    return sum(kept_count(p.numel(), density) if id(p) in masked else p.numel() for p in model.parameters())


@torch.no_grad()
def apply_random_masks(model, density=0.6, seed=0, only_strips=False):
    """Zero all but ``round(density * numel)`` uniformly drawn entries of every maskable tensor, in place, like
    the official random mask draw (deterministic for a given ``seed``). Returns ``{name: bool mask}``.

    On a model whose weights are all non-zero, ``count_params(model, nonzero=True)`` then equals
    ``sparse_param_count(model, density)``.
    """
    generator = torch.Generator().manual_seed(seed)
    masks = {}
    for name, p in maskable_parameters(model, only_strips):
        keep = torch.randperm(p.numel(), generator=generator)[:kept_count(p.numel(), density)]
        mask = torch.zeros(p.numel(), dtype=torch.bool)
        mask[keep] = True
        mask = mask.view_as(p).to(p.device)
        p.mul_(mask)
        masks[name] = mask
    return masks


def sparse_macs(model, density=0.6, input_shape=(1, 3, 224, 224), inputs=None, only_strips=False):
    """MACs per image (``largekernel.utils.count_macs`` convention) when each masked Conv2d/Linear weight keeps
    ``density`` of its entries: a layer's MACs scale with its kept fraction (uniform rule). Layers inside a module
    with its own ``count_macs`` are left to that method."""
    masked = {id(p) for _, p in maskable_parameters(model, only_strips)}
    custom = {id(sub) for m in model.modules() if m is not model and hasattr(m, 'count_macs') for sub in m.modules()}
    removed = [0]

    def hook(module, args, output):
        macs = _conv_macs(module, output) if isinstance(module, nn.Conv2d) else _linear_macs(module, output)
        numel = module.weight.numel()
        removed[0] += macs * (numel - kept_count(numel, density)) / numel

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear)) and id(m.weight) in masked and id(m) not in custom]
    try:
        total = count_macs(model, input_shape, inputs)
    finally:
        for h in handles:
            h.remove()
    batch = inputs.shape[0] if inputs is not None else input_shape[0]
    return int(round(total - removed[0] / batch))
