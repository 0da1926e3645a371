"""UniConvNet checkpoints (official ai-paperwithcode/UniConvNet, both model files) -> ``largekernel.UniConvNet``.

Key layout (official model files; spec §1.1-1.4); ``S.B.`` = ``stages.{i}.{j}.``, l = 1, 2, 3 and L = l - 1:

| official                                   | largekernel (mmpretrain classifier)                   |
|--------------------------------------------|-------------------------------------------------------|
| ``downsample_layers.*``                    | ``backbone.downsample_layers.*`` (same indices)       |
| ``S.B.attn.norm1.*``                       | ``backbone.S.B.rfa.norm.*``                           |
| ``S.B.attn.norm{l}.*`` (l > 1)             | ``backbone.S.B.rfa.layers.{L}.norm.*``                |
| ``S.B.attn.a{l}.{0,2}.*``                  | ``backbone.S.B.rfa.layers.{L}.context.{0,2}.*``       |
| ``S.B.attn.v{l}.*``                        | ``backbone.S.B.rfa.layers.{L}.value.*``               |
| ``S.B.attn.v{l}1.*``                       | ``backbone.S.B.rfa.layers.{L}.mix.*``                 |
| ``S.B.attn.v{l}2.*``                       | ``backbone.S.B.rfa.layers.{L}.local_proj.*``          |
| ``S.B.attn.conv3_{l}.*``                   | ``backbone.S.B.rfa.layers.{L}.local_dw.*``            |
| ``S.B.attn.proj{l}.*`` (l > 1)             | ``backbone.S.B.rfa.layers.{L}.reduce.*``              |
| ``S.B.layer_scale``, ``gamma1``, ``gamma2``| ``backbone.S.B.gamma0``, ``gamma1``, ``gamma2``       |
| ``S.B.norm{1,2}.0.*``                      | ``backbone.S.B.norm{1,2}.*``                          |
| ``S.B.dcn.dw_conv.0.*``                    | ``backbone.S.B.dcn.dw_conv.*``                        |
| ``S.B.dcn.{offset,mask,input_proj,output_proj}.*`` | same under ``backbone.``                      |
| ``S.B.mlp.fc{1,2}.*``                      | ``backbone.S.B.ffn.fc{1,2}.*``                        |
| ``norm.*`` (head LN)                       | ``backbone.norm3.*``                                  |
| ``head.*``                                 | ``head.fc.*``                                         |

An InternImage-style DCNv3 checkpoint (``dcn.dw_conv.1.*`` LayerNorm keys) is not UniConvNet's modified operator and
is rejected like every other unknown key.
"""
import re

import torch

S, OURS = 'stages.{s}.{b}.', 'backbone.stages.{s}.{b}.'
# (official template, our template, allowed characters of constrained fields); {L} = {l} - 1
_RULES = [
    ('downsample_layers.{i}.{k}.{p}', 'backbone.downsample_layers.{i}.{k}.{p}', {}),
    (S + 'attn.norm1.{p}', OURS + 'rfa.norm.{p}', {}),
    (S + 'attn.norm{l}.{p}', OURS + 'rfa.layers.{L}.norm.{p}', dict(l='23', L='12')),
    (S + 'attn.a{l}.{k}.{p}', OURS + 'rfa.layers.{L}.context.{k}.{p}', dict(l='123', L='012', k='02')),
    (S + 'attn.v{l}.{p}', OURS + 'rfa.layers.{L}.value.{p}', dict(l='123', L='012')),
    (S + 'attn.v{l}1.{p}', OURS + 'rfa.layers.{L}.mix.{p}', dict(l='123', L='012')),
    (S + 'attn.v{l}2.{p}', OURS + 'rfa.layers.{L}.local_proj.{p}', dict(l='123', L='012')),
    (S + 'attn.conv3_{l}.{p}', OURS + 'rfa.layers.{L}.local_dw.{p}', dict(l='123', L='012')),
    (S + 'attn.proj{l}.{p}', OURS + 'rfa.layers.{L}.reduce.{p}', dict(l='23', L='12')),
    (S + 'layer_scale', OURS + 'gamma0', {}),
    (S + 'gamma{l}', OURS + 'gamma{l}', dict(l='12')),
    (S + 'norm{l}.0.{p}', OURS + 'norm{l}.{p}', dict(l='12')),
    (S + 'dcn.dw_conv.0.{p}', OURS + 'dcn.dw_conv.{p}', {}),
    (S + 'dcn.{n}.{p}', OURS + 'dcn.{n}.{p}', {}),
    (S + 'mlp.fc{l}.{p}', OURS + 'ffn.fc{l}.{p}', dict(l='12')),
    ('norm.{p}', 'backbone.norm3.{p}', {}),
    ('head.{p}', 'head.fc.{p}', {}),
]
_FIELDS = dict(s=r'\d+', b=r'\d+', i=r'\d+', k=r'\d+', l=r'\d', L=r'\d', p='weight|bias',
               n='offset|mask|input_proj|output_proj')


def _regex(template, allowed):
    pattern = re.escape(template)
    for name, default in _FIELDS.items():
        sub = f'[{allowed[name]}]' if name in allowed else default
        pattern = pattern.replace(re.escape('{' + name + '}'), f'(?P<{name}>{sub})')
    return re.compile(f'^{pattern}$')


def _fields(match):
    fields = match.groupdict()
    if 'l' in fields:
        fields['L'] = int(fields['l']) - 1
    elif 'L' in fields:
        fields['l'] = int(fields['L']) + 1
    return fields


_FORWARD = [(_regex(official, allowed), ours) for official, ours, allowed in _RULES]
_BACKWARD = [(_regex(ours, allowed), official) for official, ours, allowed in _RULES]


def unwrap_checkpoint(checkpoint, ema=False):
    """The official state dict inside a checkpoint: ``model_ema`` if ``ema`` (error if absent), else ``model``
    (ConvNeXt-codebase checkpoints; the released ``*_ema.pth`` files store the EMA weights there), else
    ``state_dict``, else the dict itself; a DistributedDataParallel ``module.`` prefix is removed."""
    if ema:
        if not (isinstance(checkpoint, dict) and isinstance(checkpoint.get('model_ema'), dict)):
            raise KeyError(f'--ema: the checkpoint has no "model_ema" entry; entries: '
                           f'{list(checkpoint) if isinstance(checkpoint, dict) else type(checkpoint).__name__}')
        state = checkpoint['model_ema']
    else:
        state = checkpoint
        for key in ('model', 'state_dict'):
            if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
                state = checkpoint[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError('not a UniConvNet state dict: expected a dict of tensors (or one under "model"/"state_dict")')
    return {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}


def _convert(state, rules, what):
    out, unknown = {}, []
    for key, value in state.items():
        for pattern, template in rules:
            m = pattern.match(key)
            if m:
                new = template.format(**_fields(m))
                if new in out:
                    raise ValueError(f'{what}: two keys map to {new!r}')
                out[new] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f'{len(unknown)} keys are not part of {what}: {unknown[:10]}'
                         + (' ...' if len(unknown) > 10 else ''))
    return out


def convert_uniconvnet(checkpoint, ema=False, include_head=True):
    """Convert an official UniConvNet checkpoint (any variant, any wrapping) into the state dict of an mmpretrain
    ``ImageClassifier`` with a ``largekernel.UniConvNet`` backbone (``backbone.*``, ``head.fc.*``; the official
    head LN becomes ``backbone.norm3``). ``include_head=False`` drops ``head.fc.*`` (dense prediction).

    Raises ``ValueError`` naming every key that is not part of an official UniConvNet checkpoint."""
    out = _convert(unwrap_checkpoint(checkpoint, ema), _FORWARD, 'an official UniConvNet checkpoint')
    if not include_head:
        out = {k: v for k, v in out.items() if not k.startswith('head.')}
    return out


def to_official(state):
    """Inverse of :func:`convert_uniconvnet` (our classifier keys -> official keys); raises ``ValueError`` naming
    keys that have no official counterpart (e.g. out norms ``norm0..2`` of a dense-prediction backbone)."""
    return _convert(state, _BACKWARD, 'a largekernel UniConvNet classifier with an official counterpart')


def describe(state):
    """Depths, dims and DCN channels per group read off a converted state dict."""
    depths, dims, group_channels = [], [], []
    i = 0
    while f'backbone.stages.{i}.0.gamma1' in state:
        depths.append(len({k.split('.')[3] for k in state if k.startswith(f'backbone.stages.{i}.')}))
        dims.append(state[f'backbone.stages.{i}.0.gamma1'].shape[0])
        group_channels.append(dims[-1] * 9 // state[f'backbone.stages.{i}.0.dcn.mask.weight'].shape[0])
        i += 1
    return dict(depths=depths, dims=dims, dcn_group_channels=group_channels)
