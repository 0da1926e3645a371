"""SLaK checkpoints (official VITA-Group/SLaK ``models/SLaK.py``, ConvNeXt codebase) -> ``largekernel.SLaK``.

Key layout (our backbone keeps the official names, so only the head and the final norm move):

| official                                              | largekernel (mmpretrain classifier)           |
|-------------------------------------------------------|-----------------------------------------------|
| ``downsample_layers.i.j.{weight,bias}``               | ``backbone.downsample_layers.i.j.*``          |
| ``stages.i.b.large_kernel.{LoRA1,LoRA2,small_conv}.{conv.weight,bn.*}`` | ``backbone.stages.i.b.large_kernel.*`` |
| ``stages.i.b.{norm,pwconv1,pwconv2}.*``, ``.gamma``   | ``backbone.stages.i.b.*``                     |
| ``norm.{weight,bias}`` (head LayerNorm)               | ``backbone.norm{last}.*``                     |
| ``head.{weight,bias}``                                | ``head.fc.{weight,bias}``                     |

Some snapshots of the official ``models/SLaK.py`` name the strips ``Decom1``/``Decom2`` instead of ``LoRA1``/
``LoRA2`` (the published checkpoints use ``LoRA``); both are accepted. Checkpoints of the official sparse training
hold the zeros of the pruned weights; they pass through unchanged. Checkpoints of the non-decomposed ablation
(``Decom=False``: ``lkb_origin``) are not SLaK models and are rejected.
"""
import torch

from ..backbones.slak import SLaK
from .core import CheckpointMismatchError, convert_and_check, rename, resolve_requested_arch, split_head, unwrap

BN = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
_S = r'stages\.(\d+)\.(\d+)\.'


def rules(num_stages):
    return [
        (r'downsample_layers\.(\d+)\.([01])\.(weight|bias)', r'backbone.downsample_layers.\1.\2.\3'),
        (_S + rf'large_kernel\.(?:LoRA|Decom)([12])\.(conv\.weight|bn\.{BN})',
         r'backbone.stages.\1.\2.large_kernel.LoRA\3.\4'),
        (_S + rf'large_kernel\.small_conv\.(conv\.weight|bn\.{BN})',
         r'backbone.stages.\1.\2.large_kernel.small_conv.\3'),
        (_S + r'(norm|pwconv1|pwconv2)\.(weight|bias)', r'backbone.stages.\1.\2.\3.\4'),
        (_S + r'gamma', r'backbone.stages.\1.\2.gamma'),
        (r'norm\.(weight|bias)', rf'backbone.norm{num_stages - 1}.\1'),
        (r'head\.(weight|bias)', r'head.fc.\1'),
    ]


def infer(state):
    """``(arch dict, kernel_sizes, small_kernel)`` read off the strips of a converted state dict."""
    depths, dims, kernels, small = [], [], [], None
    i = 0
    while f'backbone.stages.{i}.0.gamma' in state or f'backbone.stages.{i}.0.norm.weight' in state:
        depths.append(len({k.split('.')[3] for k in state if k.startswith(f'backbone.stages.{i}.')}))
        tall = state[f'backbone.stages.{i}.0.large_kernel.LoRA1.conv.weight']  # (C, 1, K, small)
        dims.append(tall.shape[0])
        kernels.append(tall.shape[-2])
        small = tall.shape[-1]
        i += 1
    return dict(depths=tuple(depths), dims=tuple(dims)), tuple(kernels), small


def _normalise(entry):  # zoo dims are before the width factor
    width = entry.get('width_factor', 1.3)
    return dict(depths=tuple(entry['depths']), dims=tuple(int(d * width) for d in entry['dims']))


def strip_density(state):
    """Non-zero fraction of the strip kernels (1.0 for a dense model; None for meta tensors)."""
    strips = [v for k, v in state.items() if '.large_kernel.LoRA' in k and k.endswith('weight') and v.dim() == 4]
    if not strips or strips[0].is_meta:
        return None
    return sum(int(torch.count_nonzero(v)) for v in strips) / sum(v.numel() for v in strips)


def convert(checkpoint, ema=False, deploy=False, arch=None):
    """Convert an official SLaK checkpoint (``{'model': ..., 'model_ema': ...}`` or a bare state dict) into the state
    dict of an mmpretrain ``ImageClassifier`` with a ``largekernel.SLaK`` backbone, checked by loading it strictly
    into the detected (or given) arch; ``ema=True`` takes the EMA weights, ``deploy=True`` returns the deploy form.
    Returns ``(state dict, summary)``."""
    state = unwrap(checkpoint, ema)
    stages = {int(k.split('.')[1]) for k in state if k.startswith('stages.')}
    if not stages:
        raise CheckpointMismatchError('not a SLaK checkpoint', missing=['stages.*'], unknown=list(state)[:6])
    try:
        state = rename(state, rules(max(stages) + 1), 'official SLaK checkpoint')
    except CheckpointMismatchError as err:
        if any('lkb_' in k for k in err.unknown):
            raise CheckpointMismatchError(err.source, err.unknown, notes=[
                'the Decom=False ablation layout (lkb_origin/lkb_reparam) is not a SLaK model']) from None
        raise
    backbone, head = split_head(state)
    inferred, kernels, small = infer(state)
    build_arch, label = resolve_requested_arch('SLaK', arch, inferred, SLaK.arch_zoo, _normalise)
    if not isinstance(build_arch, str):
        build_arch = dict(build_arch, width_factor=1.0)  # the dims read off the weights are final
    out = convert_and_check(backbone, head, SLaK, dict(arch=build_arch, kernel_sizes=kernels, small_kernel=small),
                            'SLaK checkpoint', deploy)
    return out, dict(arch=label, form='deploy' if deploy else 'training', kernel_sizes=list(kernels),
                     small_kernel=small, strip_density=strip_density(state))


def convert_slak(checkpoint, ema=False, deploy=False, arch=None):
    """:func:`convert`, the state dict only."""
    return convert(checkpoint, ema, deploy, arch)[0]
