"""SLaK checkpoints (official VITA-Group/SLaK ``models/SLaK.py``, ConvNeXt codebase) -> ``largekernel.SLaK``.

Key layout (our backbone keeps the official names, so only the head and the final norm move):

| official                                              | largekernel (mmpretrain classifier)           |
|-------------------------------------------------------|-----------------------------------------------|
| ``downsample_layers.i.j.{weight,bias}``               | ``backbone.downsample_layers.i.j.*``          |
| ``stages.i.b.large_kernel.{LoRA1,LoRA2,small_conv}.{conv.weight,bn.*}`` | ``backbone.stages.i.b.large_kernel.*`` |
| ``stages.i.b.large_kernel.lkb_origin.{conv.weight,bn.*}`` (``Decom=False``) | same under ``backbone.`` |
| ``stages.i.b.large_kernel.lkb_reparam.{weight,bias}`` (``Decom=False``, merged) | same under ``backbone.`` |
| ``stages.i.b.{norm,pwconv1,pwconv2}.*``, ``.gamma``   | ``backbone.stages.i.b.*``                     |
| ``norm.{weight,bias}`` (head LayerNorm)               | ``backbone.norm{last}.*``                     |
| ``head.{weight,bias}``                                | ``head.fc.{weight,bias}``                     |

Some snapshots of the official ``models/SLaK.py`` name the strips ``Decom1``/``Decom2`` instead of ``LoRA1``/
``LoRA2`` (the published checkpoints use ``LoRA``); both are accepted. Checkpoints of the official sparse training
hold the zeros of the pruned weights; they pass through unchanged. Checkpoints of the non-decomposed ablation
(``Decom=False``: ``lkb_origin`` + ``small_conv``, or ``lkb_reparam`` after the official ``merge_kernel()``) convert
into ``SLaK(decompose=False)`` (the merged ones in deploy form); one checkpoint mixing both layouts is refused.
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
        (_S + rf'large_kernel\.(small_conv|lkb_origin)\.(conv\.weight|bn\.{BN})',
         r'backbone.stages.\1.\2.large_kernel.\3.\4'),
        (_S + r'large_kernel\.lkb_reparam\.(weight|bias)', r'backbone.stages.\1.\2.large_kernel.lkb_reparam.\3'),
        (_S + r'(norm|pwconv1|pwconv2)\.(weight|bias)', r'backbone.stages.\1.\2.\3.\4'),
        (_S + r'gamma', r'backbone.stages.\1.\2.gamma'),
        (r'norm\.(weight|bias)', rf'backbone.norm{num_stages - 1}.\1'),
        (r'head\.(weight|bias)', r'head.fc.\1'),
    ]


def layout(state):
    """``(decompose, deploy)`` of a renamed state dict: the strips (``LoRA1``/``LoRA2``, official ``Decom=True``) or
    the dense pair of ``Decom=False`` (``lkb_origin``, or ``lkb_reparam`` once merged)."""
    forms = {name for name in ('LoRA', 'lkb_origin', 'lkb_reparam')
             if any(f'.large_kernel.{name}' in k for k in state)}
    if len(forms) != 1:
        note = (f'its kernel modules mix layouts {sorted(forms)}: the strips (LoRA1/LoRA2, Decom=True) and the '
                'Decom=False ablation (lkb_origin, or lkb_reparam after merge_kernel()) cannot both be in one SLaK '
                'model' if forms else
                'no large-kernel weights (large_kernel.LoRA1/LoRA2, lkb_origin or lkb_reparam) found')
        raise CheckpointMismatchError('official SLaK checkpoint', unknown=[k for k in state if '.lkb_' in k][:6],
                                      notes=[note])
    (form,) = forms
    return form == 'LoRA', form == 'lkb_reparam'


def infer(state):
    """``(arch dict, kernel_sizes, small_kernel)`` read off the kernels of a converted state dict (either layout)."""
    decompose, merged = layout(state)
    depths, dims, kernels, small = [], [], [], None
    i = 0
    while f'backbone.stages.{i}.0.gamma' in state or f'backbone.stages.{i}.0.norm.weight' in state:
        depths.append(len({k.split('.')[3] for k in state if k.startswith(f'backbone.stages.{i}.')}))
        lk = f'backbone.stages.{i}.0.large_kernel.'
        if decompose:
            large = state[lk + 'LoRA1.conv.weight']  # (C, 1, K, small)
            small = large.shape[-1]
        else:
            large = state[lk + ('lkb_reparam.weight' if merged else 'lkb_origin.conv.weight')]  # (C, 1, K, K)
            if not merged:
                small = state[lk + 'small_conv.conv.weight'].shape[-1]
        dims.append(large.shape[0])
        kernels.append(large.shape[-2])
        i += 1
    return dict(depths=tuple(depths), dims=tuple(dims)), tuple(kernels), small


def _normalise(entry):  # zoo dims are before the width factor
    width = entry.get('width_factor', 1.3)
    return dict(depths=tuple(entry['depths']), dims=tuple(int(d * width) for d in entry['dims']))


def strip_density(state):
    """Non-zero fraction of the large kernels, the strips or (``Decom=False``) the K x K ones (1.0 for a dense model;
    None for meta tensors)."""
    strips = [v for k, v in state.items() if ('.large_kernel.LoRA' in k or '.large_kernel.lkb_' in k)
              and k.endswith('weight') and v.dim() == 4]
    if not strips or strips[0].is_meta:
        return None
    return sum(int(torch.count_nonzero(v)) for v in strips) / sum(v.numel() for v in strips)


def convert(checkpoint, ema=False, deploy=False, arch=None, small_kernel=None):
    """Convert an official SLaK checkpoint (``{'model': ..., 'model_ema': ...}`` or a bare state dict) into the state
    dict of an mmpretrain ``ImageClassifier`` with a ``largekernel.SLaK`` backbone (``decompose=False`` for the
    ``Decom=False`` ablation), checked by loading it strictly into the detected (or given) arch; ``ema=True`` takes
    the EMA weights, ``deploy=True`` returns the deploy form. ``small_kernel`` only matters for merged ``Decom=False``
    checkpoints, whose weights no longer show N (it sets the model's ``small_kernel`` attribute; default 3).
    Returns ``(state dict, summary)``."""
    state = unwrap(checkpoint, ema)
    stages = {int(k.split('.')[1]) for k in state if k.startswith('stages.')}
    if not stages:
        raise CheckpointMismatchError('not a SLaK checkpoint', missing=['stages.*'], unknown=list(state)[:6])
    state = rename(state, rules(max(stages) + 1), 'official SLaK checkpoint')
    backbone, head = split_head(state)
    decompose, merged = layout(state)
    inferred, kernels, small = infer(state)
    if small is None:  # merged Decom=False: the small kernel is inside lkb_reparam; any odd N < min(K) builds it
        small = small_kernel or 3
    build_arch, label = resolve_requested_arch('SLaK', arch, inferred, SLaK.arch_zoo, _normalise)
    if not isinstance(build_arch, str):
        build_arch = dict(build_arch, width_factor=1.0)  # the dims read off the weights are final
    kwargs = dict(arch=build_arch, kernel_sizes=kernels, small_kernel=small, decompose=decompose)
    prepare = (lambda model: model.switch_to_deploy()) if merged else None  # already merged: load the deploy form
    out = convert_and_check(backbone, head, SLaK, kwargs, 'SLaK checkpoint', deploy, prepare)
    return out, dict(arch=label, form='deploy' if deploy or merged else 'training', kernel_sizes=list(kernels),
                     small_kernel=small, decompose=decompose, strip_density=strip_density(state))


def convert_slak(checkpoint, ema=False, deploy=False, arch=None):
    """:func:`convert`, the state dict only."""
    return convert(checkpoint, ema, deploy, arch)[0]
