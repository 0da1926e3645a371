"""RepLKNet checkpoints (official DingXiaoH/RepLKNet-pytorch or mmpretrain 1.x) -> ``largekernel.RepLKNet``.

Key layouts (spec §2.5):

- official ``stem.j.{conv,bn}.*`` (mmpretrain: ``backbone.`` + the same) -> ``backbone.downsample_layers.0.j.*``;
- ``transitions.i.j.*`` -> ``backbone.downsample_layers.{i+1}.j.*``;
- ``stages.i.blocks.b.<rest>`` -> ``backbone.stages.i.b.<rest>`` (block-internal names are unchanged);
- ``stages.i.norm.*`` -> ``backbone.norm{i}.*``; the official head BN ``norm.*`` (mmpretrain: ``stages.3.norm``)
  -> ``backbone.norm3.*``;
- official ``head.{weight,bias}`` (mmpretrain: ``head.fc.*``) -> ``head.fc.*``.

Forms: a training-form checkpoint (``lkb_origin`` / ``small_conv`` with BNs) converts key by key, or, with
``deploy=True``, into the deploy form. A checkpoint that is already (partly) re-parameterised (official/mmpretrain
``small_kernel_merged=True``: ``lkb_reparam``; official ``deep_fuse_BN()``: conv biases without BNs) can only be
the deploy form: every conv-BN unit is folded (BN eps 1e-5, the default of both codebases) and the large kernels
merged, matching ``RepLKNet(..., deploy=True)``.
"""
import re
from types import SimpleNamespace

import torch

from ..layers import fuse_bn, pad_kernel

BN = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
UNIT = rf'(?:conv\.(?:weight|bias)|bn\.{BN})'
BLOCK = (rf'(?:(?:prelkb_bn|preffn_bn)\.{BN}|(?:pw1|pw2|large_kernel\.lkb_origin|large_kernel\.small_conv)\.{UNIT}'
         r'|large_kernel\.lkb_reparam\.(?:weight|bias))')
BN_EPS = 1e-5

# (pattern on the backbone part of a key, replacement) shared by both layouts
_BACKBONE_RULES = [
    (re.compile(rf'^stem\.(\d+)\.({UNIT})$'), lambda m: f'downsample_layers.0.{m[1]}.{m[2]}'),
    (re.compile(rf'^transitions\.(\d+)\.(\d+)\.({UNIT})$'),
     lambda m: f'downsample_layers.{int(m[1]) + 1}.{m[2]}.{m[3]}'),
    (re.compile(rf'^stages\.(\d+)\.blocks\.(\d+)\.({BLOCK})$'), lambda m: f'stages.{m[1]}.{m[2]}.{m[3]}'),
    (re.compile(rf'^stages\.(\d+)\.norm\.({BN})$'), lambda m: f'norm{m[1]}.{m[2]}'),
]


def unwrap_checkpoint(checkpoint):
    """The state dict inside a checkpoint (``state_dict`` or ``model`` entry, else the dict itself), without a
    DistributedDataParallel ``module.`` prefix."""
    state = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            state = checkpoint[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError('not a RepLKNet state dict: expected a dict of tensors (or one under "state_dict"/"model")')
    return {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}


def detect_layout(state):
    """``'official'`` (``stem.*`` keys) or ``'mmpretrain'`` (``backbone.stem.*`` keys)."""
    if any(k.startswith('backbone.stem.') for k in state):
        return 'mmpretrain'
    if any(k.startswith('stem.') for k in state):
        return 'official'
    raise ValueError('not a RepLKNet checkpoint: it has neither official "stem.*" nor mmpretrain "backbone.stem.*" '
                     f'keys; first keys: {list(state)[:6]}')


def map_key(key, layout, num_stages):
    if layout == 'mmpretrain':
        if key.startswith('head.fc.') and key[8:] in ('weight', 'bias'):
            return key
        if not key.startswith('backbone.'):
            return None
        key = key[len('backbone.'):]
    else:
        if key in ('head.weight', 'head.bias'):
            return 'head.fc.' + key[5:]
        if re.fullmatch(rf'norm\.{BN}', key):
            return f'backbone.norm{num_stages - 1}.{key[5:]}'
    for pattern, repl in _BACKBONE_RULES:
        m = pattern.match(key)
        if m:
            return 'backbone.' + repl(m)
    return None


def _num_stages(state, layout):
    prefix = 'backbone.stages.' if layout == 'mmpretrain' else 'stages.'
    ids = {int(k[len(prefix):].split('.')[0]) for k in state if k.startswith(prefix)}
    if not ids:
        raise ValueError(f'not a RepLKNet checkpoint: no "{prefix}*" keys')
    return max(ids) + 1


def is_deploy_form(state):
    """True if any large kernel is merged or any conv-BN unit is already folded (a conv bias where the training
    form has none)."""
    return any('lkb_reparam' in k or k.endswith('.conv.bias') for k in state)


@torch.no_grad()
def to_deploy(state):
    """Fold every ``<unit>.bn`` into ``<unit>.conv`` and merge ``lkb_origin`` + ``small_conv`` into ``lkb_reparam``
    (our layout, spec §1.1, §1.2); already folded parts pass through."""
    state = dict(state)
    for key in [k for k in state if k.endswith('.bn.running_var')]:
        unit = key[:-len('.bn.running_var')]
        bn = SimpleNamespace(**{p: state.pop(f'{unit}.bn.{p}').double() for p in
                                ('weight', 'bias', 'running_mean', 'running_var')}, eps=BN_EPS)
        state.pop(f'{unit}.bn.num_batches_tracked', None)
        weight = state[f'{unit}.conv.weight']
        bias = state.get(f'{unit}.conv.bias')
        w, b = fuse_bn(weight.double(), None if bias is None else bias.double(), bn)
        state[f'{unit}.conv.weight'], state[f'{unit}.conv.bias'] = w.to(weight.dtype), b.to(weight.dtype)
    for key in [k for k in state if k.endswith('.large_kernel.lkb_origin.conv.weight')]:
        lk = key[:-len('.lkb_origin.conv.weight')]
        kernel, bias = state.pop(key), state.pop(f'{lk}.lkb_origin.conv.bias')
        if f'{lk}.small_conv.conv.weight' in state:
            kernel = kernel + pad_kernel(state.pop(f'{lk}.small_conv.conv.weight'), kernel.shape[-1])
            bias = bias + state.pop(f'{lk}.small_conv.conv.bias')
        state[f'{lk}.lkb_reparam.weight'], state[f'{lk}.lkb_reparam.bias'] = kernel, bias
    return state


def convert_replknet(checkpoint, layout='auto', deploy=False):
    """Convert an official or mmpretrain RepLKNet checkpoint (any wrapping, training or deploy form) into the
    state dict of an mmpretrain ``ImageClassifier`` with a ``largekernel.RepLKNet`` backbone (``backbone.*``,
    ``head.fc.*``). ``deploy=True`` (implied for re-parameterised inputs) returns the deploy form.

    Raises ``ValueError`` naming every key that is not part of a RepLKNet checkpoint."""
    state = unwrap_checkpoint(checkpoint)
    if layout == 'auto':
        layout = detect_layout(state)
    elif layout not in ('official', 'mmpretrain'):
        raise ValueError(f"unknown RepLKNet checkpoint layout {layout!r}; valid: 'auto', 'official', 'mmpretrain'")
    num_stages = _num_stages(state, layout)
    out, unknown = {}, []
    for key, value in state.items():
        new = map_key(key, layout, num_stages)
        if new is None:
            unknown.append(key)
        else:
            if new in out:
                raise ValueError(f'RepLKNet checkpoint: {key!r} and another key both map to {new!r} (a head norm and '
                                 f'a last-stage norm at once?)')
            out[new] = value
    if unknown:
        raise ValueError(f'{len(unknown)} keys are not part of a {layout} RepLKNet checkpoint: {unknown[:10]}'
                         + (' ...' if len(unknown) > 10 else ''))
    if deploy or is_deploy_form(out):
        out = to_deploy(out)
    return out


def describe(state):
    """Architecture read off a converted (largekernel-layout) state dict: layers (pairs), channels, large kernel
    sizes, small kernel (None if absent or merged), dw_ratio, form."""
    layers, channels, kernels, small, dw = [], [], [], None, None
    i = 0
    while any(k.startswith(f'backbone.stages.{i}.') for k in state):
        blocks = {int(k.split('.')[3]) for k in state if k.startswith(f'backbone.stages.{i}.')}
        layers.append(len(blocks) // 2)
        channels.append(state[f'backbone.stages.{i}.0.prelkb_bn.weight'].shape[0])
        lk = f'backbone.stages.{i}.0.large_kernel'
        weight = state.get(f'{lk}.lkb_reparam.weight', state.get(f'{lk}.lkb_origin.conv.weight'))
        kernels.append(weight.shape[-1])
        if f'{lk}.small_conv.conv.weight' in state:
            small = state[f'{lk}.small_conv.conv.weight'].shape[-1]
        dw = weight.shape[0] / channels[-1]
        i += 1
    return dict(layers=layers, channels=channels, large_kernel_sizes=kernels, small_kernel=small, dw_ratio=dw,
                form='deploy' if is_deploy_form(state) else 'training')
