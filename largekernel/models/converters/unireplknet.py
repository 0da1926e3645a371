"""Official UniRepLKNet checkpoints (AILab-CVC/UniRepLKNet) -> ``largekernel.UniRepLKNet``.

Key layouts (spec §3.7; training form, deploy form has the subset without BNs, GRN beta and layer scale):

| official                                     | largekernel (mmpretrain classifier)           |
|----------------------------------------------|-----------------------------------------------|
| ``downsample_layers.i.j.*``                  | ``backbone.downsample_layers.i.j.*``          |
| ``stages.i.b.dwconv.{lk_origin,origin_bn,dil_conv_k*_*,dil_bn_k*_*}.*``, ``dwconv.{weight,bias}`` | same under ``backbone.`` |
| ``stages.i.b.norm.*`` / ``se.{down,up}.*`` / ``gamma`` | same under ``backbone.``             |
| ``stages.i.b.pwconv1.1.*``                   | ``backbone.stages.i.b.pwconv1.*``             |
| ``stages.i.b.act.1.{gamma,beta}`` (GRN)      | ``backbone.stages.i.b.grn.{gamma,beta}``      |
| ``stages.i.b.pwconv2.0.*`` / ``pwconv2.2.*`` | ``backbone.stages.i.b.pwconv2.*`` / ``ffn_norm.*`` |
| ``norm.*`` (head LayerNorm)                  | ``backbone.norm3.*`` (classification mode)    |
| ``head.*``                                   | ``head.fc.*``                                 |

Dense-prediction checkpoints of the official mmdet/mmseg code carry the backbone under ``backbone.`` with its
output norms ``backbone.norm0..3``; only those backbone keys convert (detector/segmentor heads belong to the
OpenMMLab toolbox and are refused by name).
"""
import re

import torch

_BLOCK_RULES = [  # (pattern on the part after 'stages.i.b.', replacement)
    (r'dwconv\.(lk_origin|origin_bn|dil_conv_k\d+_\d+|dil_bn_k\d+_\d+)\.(.+)', r'dwconv.\1.\2'),
    (r'dwconv\.(weight|bias)', r'dwconv.\1'),
    (r'norm\.(.+)', r'norm.\1'),
    (r'se\.(down|up)\.(weight|bias)', r'se.\1.\2'),
    (r'pwconv1\.1\.(weight|bias)', r'pwconv1.\1'),
    (r'act\.1\.(gamma|beta)', r'grn.\1'),
    (r'pwconv2\.0\.(weight|bias)', r'pwconv2.\1'),
    (r'pwconv2\.2\.(.+)', r'ffn_norm.\1'),
    (r'gamma', r'gamma'),
]
_BLOCK_RULES = [(re.compile(p + '$'), r) for p, r in _BLOCK_RULES]
_STEM = re.compile(r'downsample_layers\.\d+\.\d+\.(weight|bias)$')
_BLOCK = re.compile(r'stages\.(\d+)\.(\d+)\.(.+)$')


def _map_backbone_key(key, num_stages):
    """Our backbone key for an official backbone key, or None if unknown."""
    if _STEM.match(key) or re.fullmatch(r'norm\d\.(weight|bias)', key):
        return key
    if re.fullmatch(r'norm\.(weight|bias)', key):
        return f'norm{num_stages - 1}.{key[5:]}'
    m = _BLOCK.match(key)
    if m:
        for pattern, repl in _BLOCK_RULES:
            if pattern.match(m[3]):
                return f'stages.{m[1]}.{m[2]}.{pattern.sub(repl, m[3])}'
    return None


def unwrap_state_dict(checkpoint):
    for key in ('state_dict', 'model', 'module'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise TypeError('not a UniRepLKNet state dict: expected a dict of tensors (or one under "state_dict"/"model")')
    return {k[7:] if k.startswith('module.') else k: v for k, v in checkpoint.items()}


def convert_unireplknet(checkpoint):
    """Return the largekernel state dict (mmpretrain ``ImageClassifier`` keys) of an official checkpoint."""
    state = unwrap_state_dict(checkpoint)
    stage_ids = {int(m[1]) for m in (re.match(r'(?:backbone\.)?stages\.(\d+)\.', k) for k in state) if m}
    num_stages = max(stage_ids) + 1 if stage_ids else 4
    out, unknown = {}, []
    for key, value in state.items():
        if key.startswith('head.') and key[5:] in ('weight', 'bias'):
            out['head.fc.' + key[5:]] = value
            continue
        inner = key[len('backbone.'):] if key.startswith('backbone.') else key
        if key.startswith('backbone.') and re.fullmatch(r'norm\.(weight|bias)', inner):
            mapped = None  # a dense-prediction checkpoint has norm0..3, never a head norm
        else:
            mapped = _map_backbone_key(inner, num_stages)
        if mapped is None:
            unknown.append(key)
        else:
            out['backbone.' + mapped] = value
    if unknown:
        raise KeyError(f'{len(unknown)} keys are not part of the official UniRepLKNet layout (spec §3.7): '
                       f'{unknown[:10]}{" ..." if len(unknown) > 10 else ""}')
    return out


def is_deploy_form(state):
    """True when a (converted or official) state dict holds the re-parameterised inference form."""
    return not any('origin_bn' in k or k.endswith('ffn_norm.running_var') or 'pwconv2.2.' in k for k in state)
