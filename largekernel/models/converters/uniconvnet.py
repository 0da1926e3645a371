"""UniConvNet checkpoints (official ai-paperwithcode/UniConvNet, both model files) -> ``largekernel.UniConvNet``.

Key layout (both official model files, ``models/UniConvNet.py`` for A-P2 and ``models_N0-XL/UniConvNet.py``);
``S.B.`` = ``stages.{i}.{j}.``, l = 1, 2, 3 and L = l - 1:

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
| ``norm.*`` (head LN)                       | ``backbone.norm{last}.*``                             |
| ``head.*``                                 | ``head.fc.*``                                         |

An InternImage-style DCNv3 checkpoint (``dcn.dw_conv.1.*`` LayerNorm keys) is not UniConvNet's modified operator and
is rejected like every other unknown key.
"""
from ..backbones.uniconvnet import UniConvNet
from .core import convert_and_check, rename, resolve_requested_arch, split_head, unwrap

_S, _OURS = r'stages\.(?P<s>\d+)\.(?P<b>\d+)\.', 'backbone.stages.{s}.{b}.'
_P = r'(?P<p>weight|bias)'


def _to(template):
    """A rule target: ``template`` formatted with the match's named groups, ``{L}`` being layer ``l`` - 1."""
    def target(match):
        fields = match.groupdict()
        if 'l' in fields:
            fields['L'] = int(fields['l']) - 1
        return template.format(**fields)
    return target


def rules(num_stages):
    return [
        (r'downsample_layers\.(\d+)\.(\d+)\.(weight|bias)', r'backbone.downsample_layers.\1.\2.\3'),
        (_S + r'attn\.norm1\.' + _P, _to(_OURS + 'rfa.norm.{p}')),
        (_S + r'attn\.norm(?P<l>[23])\.' + _P, _to(_OURS + 'rfa.layers.{L}.norm.{p}')),
        (_S + r'attn\.a(?P<l>[123])\.(?P<k>[02])\.' + _P, _to(_OURS + 'rfa.layers.{L}.context.{k}.{p}')),
        (_S + r'attn\.v(?P<l>[123])\.' + _P, _to(_OURS + 'rfa.layers.{L}.value.{p}')),
        (_S + r'attn\.v(?P<l>[123])1\.' + _P, _to(_OURS + 'rfa.layers.{L}.mix.{p}')),
        (_S + r'attn\.v(?P<l>[123])2\.' + _P, _to(_OURS + 'rfa.layers.{L}.local_proj.{p}')),
        (_S + r'attn\.conv3_(?P<l>[123])\.' + _P, _to(_OURS + 'rfa.layers.{L}.local_dw.{p}')),
        (_S + r'attn\.proj(?P<l>[23])\.' + _P, _to(_OURS + 'rfa.layers.{L}.reduce.{p}')),
        (_S + r'layer_scale', _to(_OURS + 'gamma0')),
        (_S + r'gamma(?P<l>[12])', _to(_OURS + 'gamma{l}')),
        (_S + r'norm(?P<l>[12])\.0\.' + _P, _to(_OURS + 'norm{l}.{p}')),
        (_S + r'dcn\.dw_conv\.0\.' + _P, _to(_OURS + 'dcn.dw_conv.{p}')),
        (_S + r'dcn\.(?P<n>offset|mask|input_proj|output_proj)\.' + _P, _to(_OURS + 'dcn.{n}.{p}')),
        (_S + r'mlp\.fc(?P<l>[12])\.' + _P, _to(_OURS + 'ffn.fc{l}.{p}')),
        (r'norm\.(weight|bias)', rf'backbone.norm{num_stages - 1}.\1'),
        (r'head\.(weight|bias)', r'head.fc.\1'),
    ]


def infer_arch(state):
    """``dict(depths, dims, dcn_group_channels)`` read off a converted state dict."""
    depths, dims, group_channels = [], [], set()
    i = 0
    while f'backbone.stages.{i}.0.gamma1' in state:
        depths.append(len({k.split('.')[3] for k in state if k.startswith(f'backbone.stages.{i}.')}))
        dims.append(state[f'backbone.stages.{i}.0.gamma1'].shape[0])
        group_channels.add(dims[-1] * 9 // state[f'backbone.stages.{i}.0.dcn.mask.weight'].shape[0])
        i += 1
    return dict(depths=tuple(depths), dims=tuple(dims),
                dcn_group_channels=group_channels.pop() if len(group_channels) == 1 else tuple(group_channels))


def _normalise(entry):
    return dict(entry, depths=tuple(entry['depths']), dims=tuple(entry['dims']))


def convert(checkpoint, ema=False, deploy=False, arch=None):
    """Convert an official UniConvNet checkpoint (any variant, any wrapping) into the state dict of an mmpretrain
    ``ImageClassifier`` with a ``largekernel.UniConvNet`` backbone, checked by loading it strictly into the detected
    (or given) arch. UniConvNet has no re-parameterisable branch: ``deploy=True`` gives the same tensors.
    Returns ``(state dict, summary)``."""
    state = unwrap(checkpoint, ema)
    stages = {int(k.split('.')[1]) for k in state if k.startswith('stages.')}
    state = rename(state, rules(max(stages) + 1 if stages else 4), 'official UniConvNet checkpoint')
    backbone, head = split_head(state)
    build_arch, label = resolve_requested_arch('UniConvNet', arch, infer_arch(state), UniConvNet.arch_zoo,
                                               _normalise)
    out = convert_and_check(backbone, head, UniConvNet, dict(arch=build_arch), 'UniConvNet checkpoint', deploy)
    return out, dict(arch=label, form='deploy' if deploy else 'training')


def convert_uniconvnet(checkpoint, ema=False, include_head=True, deploy=False, arch=None):
    """:func:`convert`, the state dict only; ``include_head=False`` drops ``head.fc.*`` (dense prediction)."""
    out = convert(checkpoint, ema, deploy, arch)[0]
    return out if include_head else {k: v for k, v in out.items() if not k.startswith('head.')}
