"""SLaK checkpoints (official VITA-Group/SLaK, ConvNeXt codebase) -> ``largekernel.SLaK``.

Key layout (spec §4.1-4.2; our backbone keeps the official names, so only the head and the final norm move):

| official                                              | largekernel (mmpretrain classifier)           |
|-------------------------------------------------------|-----------------------------------------------|
| ``downsample_layers.i.j.{weight,bias}``               | ``backbone.downsample_layers.i.j.*``          |
| ``stages.i.b.large_kernel.{LoRA1,LoRA2,small_conv}.{conv.weight,bn.*}`` | ``backbone.stages.i.b.large_kernel.*`` |
| ``stages.i.b.{norm,pwconv1,pwconv2}.*``, ``.gamma``   | ``backbone.stages.i.b.*``                     |
| ``norm.{weight,bias}`` (head LayerNorm)               | ``backbone.norm3.*``                          |
| ``head.{weight,bias}``                                | ``head.fc.{weight,bias}``                     |

Some snapshots of the official ``models/SLaK.py`` name the strips ``Decom1``/``Decom2`` instead of ``LoRA1``/
``LoRA2`` (the published checkpoints and the ``--only-L`` switch use ``LoRA``); both are accepted. The checkpoints
of the official sparse training hold the zeros of the pruned weights; they pass through unchanged. Checkpoints of the
non-decomposed ablation (``Decom=False``: ``lkb_origin``) are not SLaK models and are rejected.
"""
import re
from types import SimpleNamespace

import torch

from ..layers import fuse_bn, pad_kernel

BN = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
BLOCK = (rf'(?:large_kernel\.(?:LoRA1|LoRA2|small_conv)\.(?:conv\.weight|bn\.{BN})'
         r'|(?:norm|pwconv1|pwconv2)\.(?:weight|bias)|gamma)')
BACKBONE = re.compile(rf'^(?:downsample_layers\.\d+\.[01]\.(?:weight|bias)|stages\.\d+\.\d+\.{BLOCK})$')
BN_EPS = 1e-5  # nn.SyncBatchNorm / nn.BatchNorm2d default, as in the official code


def unwrap_checkpoint(checkpoint, ema=False):
    """The official state dict: ``checkpoint['model']`` (or ``['model_ema']`` with ``ema``), a bare state dict
    otherwise; a DistributedDataParallel ``module.`` prefix is removed."""
    key = 'model_ema' if ema else 'model'
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
        state = checkpoint[key]
    elif ema:
        entries = sorted(checkpoint)[:8] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise KeyError(f'no "model_ema" entry in the checkpoint (entries: {entries}); drop --ema to convert the '
                       '"model" weights')
    else:
        state = checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError('not a SLaK state dict: expected a dict of tensors (or one under "model"/"model_ema")')
    return {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}


def map_key(key, num_stages):
    """Our classifier key for an official ``key``, or None if it is not a SLaK key."""
    key = key.replace('.large_kernel.Decom1.', '.large_kernel.LoRA1.').replace('.large_kernel.Decom2.',
                                                                                '.large_kernel.LoRA2.')
    if key in ('head.weight', 'head.bias'):
        return 'head.fc.' + key[5:]
    if key in ('norm.weight', 'norm.bias'):
        return f'backbone.norm{num_stages - 1}.{key[5:]}'
    if BACKBONE.match(key):
        return 'backbone.' + key
    return None


@torch.no_grad()
def to_deploy(state):
    """Fold the three BNs of every kernel module and merge the small kernel into ``LoRA1`` (spec §1.1-1.2), giving
    the keys of ``SLaK(deploy=True)``: ``LoRA1.{weight,bias}``, ``LoRA2.weight``."""
    state = dict(state)
    for key in [k for k in state if k.endswith('.large_kernel.LoRA1.conv.weight')]:
        lk = key[:-len('.LoRA1.conv.weight')]
        fused = {}
        for unit in ('LoRA1', 'LoRA2', 'small_conv'):
            bn = SimpleNamespace(**{p: state.pop(f'{lk}.{unit}.bn.{p}').double()
                                    for p in ('weight', 'bias', 'running_mean', 'running_var')}, eps=BN_EPS)
            state.pop(f'{lk}.{unit}.bn.num_batches_tracked', None)
            weight = state.pop(f'{lk}.{unit}.conv.weight')
            fused[unit] = (*fuse_bn(weight.double(), None, bn), weight.dtype)
        (w1, b1, dtype), (w2, b2, _), (ws, bs, _) = fused['LoRA1'], fused['LoRA2'], fused['small_conv']
        state[f'{lk}.LoRA1.weight'] = (w1 + pad_kernel(ws, tuple(w1.shape[-2:]))).to(dtype)
        state[f'{lk}.LoRA1.bias'] = (b1 + b2 + bs).to(dtype)
        state[f'{lk}.LoRA2.weight'] = w2.to(dtype)
    return state


def convert_slak(checkpoint, ema=False, deploy=False):
    """Convert an official SLaK checkpoint (``{'model': ..., 'model_ema': ...}`` or a bare state dict) into the
    state dict of an mmpretrain ``ImageClassifier`` with a ``largekernel.SLaK`` backbone (``backbone.*``,
    ``head.fc.*``); ``ema=True`` takes the EMA weights, ``deploy=True`` returns the deploy form.

    Raises ``ValueError`` naming every key that is not part of a SLaK checkpoint."""
    state = unwrap_checkpoint(checkpoint, ema)
    stages = {int(k.split('.')[1]) for k in state if k.startswith('stages.')}
    if not stages:
        raise ValueError(f'not a SLaK checkpoint: no "stages.*" keys; first keys: {list(state)[:6]}')
    out, unknown = {}, []
    for key, value in state.items():
        new = map_key(key, max(stages) + 1)
        if new is None:
            unknown.append(key)
        elif new in out:
            raise ValueError(f'SLaK checkpoint: {key!r} and another key both map to {new!r} (LoRA and Decom names '
                             'mixed?)')
        else:
            out[new] = value
    if unknown:
        hint = (' (the Decom=False ablation layout lkb_origin/lkb_reparam is not SLaK)'
                if any('lkb_' in k for k in unknown) else '')
        raise ValueError(f'{len(unknown)} keys are not part of an official SLaK checkpoint{hint}: {unknown[:10]}'
                         + (' ...' if len(unknown) > 10 else ''))
    return to_deploy(out) if deploy else out


def describe(state):
    """Architecture read off a converted state dict: depths, channels, large kernel sizes, small kernel, form,
    density of the strips (non-zero fraction; 1.0 for a dense model)."""
    depths, channels, kernels, small, nonzero, total = [], [], [], None, 0, 0
    i = 0
    while any(k.startswith(f'backbone.stages.{i}.') for k in state):
        depths.append(len({k.split('.')[3] for k in state if k.startswith(f'backbone.stages.{i}.')}))
        lk = f'backbone.stages.{i}.0.large_kernel'
        tall = state.get(f'{lk}.LoRA1.conv.weight', state.get(f'{lk}.LoRA1.weight'))
        channels.append(tall.shape[0])
        kernels.append(tall.shape[-2])
        small = tall.shape[-1]
        i += 1
    for key, value in state.items():
        if '.large_kernel.LoRA' in key and key.endswith('weight') and value.dim() == 4:
            nonzero, total = nonzero + int(torch.count_nonzero(value)), total + value.numel()
    deploy = any(k.endswith('.large_kernel.LoRA1.bias') for k in state)
    return dict(depths=depths, channels=channels, kernel_sizes=kernels, small_kernel=small,
                form='deploy' if deploy else 'training', strip_density=nonzero / total if total else None)
