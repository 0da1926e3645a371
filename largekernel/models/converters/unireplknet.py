"""Official UniRepLKNet checkpoints (AILab-CVC/UniRepLKNet ``unireplknet.py``) -> ``largekernel.UniRepLKNet``.

Key layouts (training form; the deploy form of ``UniRepLKNet(deploy=True)`` / ``reparameterize_unireplknet()`` has
the subset without BNs, dilated branches, GRN beta and layer scale, with biased depthwise convs):

| official                                     | largekernel (mmpretrain classifier)           |
|----------------------------------------------|-----------------------------------------------|
| ``downsample_layers.i.j.*``                  | ``backbone.downsample_layers.i.j.*``          |
| ``stages.i.b.dwconv.{lk_origin,origin_bn}.*`` | same under ``backbone.``                      |
| ``stages.i.b.dwconv.{dil_conv,dil_bn}_k*_*.*`` | same under ``backbone.``                    |
| ``stages.i.b.dwconv.{weight,bias}`` (K < 7)  | same under ``backbone.``                      |
| ``stages.i.b.norm.*`` / ``se.{down,up}.*`` / ``gamma`` | same under ``backbone.``             |
| ``stages.i.b.pwconv1.1.*``                   | ``backbone.stages.i.b.pwconv1.*``             |
| ``stages.i.b.act.1.{gamma,beta}`` (GRN)      | ``backbone.stages.i.b.grn.{gamma,beta}``      |
| ``stages.i.b.pwconv2.0.*`` / ``pwconv2.2.*`` | ``backbone.stages.i.b.pwconv2.*`` / ``ffn_norm.*`` |
| ``norm.*`` (head LayerNorm)                  | ``backbone.norm{last}.*`` (classification)    |
| ``head.*``                                   | ``head.fc.*``                                 |

Dense-prediction checkpoints of the official mmdet/mmseg code carry the backbone under ``backbone.`` with its output
norms ``backbone.norm0..3``; only those backbone keys convert (detector/segmentor heads belong to the OpenMMLab
toolbox and are reported as unknown keys).
"""
from ..backbones.unireplknet import _SMALL_PATTERN, UniRepLKNet
from .core import convert_and_check, rename, resolve_requested_arch, split_head, unwrap

_B = r'(?:backbone\.)?stages\.(\d+)\.(\d+)\.'
_OURS = r'backbone.stages.\1.\2.'
BLOCK_RULES = [
    (_B + r'dwconv\.(lk_origin|origin_bn|dil_conv_k\d+_\d+|dil_bn_k\d+_\d+)\.(.+)', _OURS + r'dwconv.\3.\4'),
    (_B + r'dwconv\.(weight|bias)', _OURS + r'dwconv.\3'),
    (_B + r'norm\.(.+)', _OURS + r'norm.\3'),
    (_B + r'se\.(down|up)\.(weight|bias)', _OURS + r'se.\3.\4'),
    (_B + r'pwconv1\.1\.(weight|bias)', _OURS + r'pwconv1.\3'),
    (_B + r'act\.1\.(gamma|beta)', _OURS + r'grn.\3'),
    (_B + r'pwconv2\.0\.(weight|bias)', _OURS + r'pwconv2.\3'),
    (_B + r'pwconv2\.2\.(.+)', _OURS + r'ffn_norm.\3'),
    (_B + r'gamma', _OURS + 'gamma'),
]


def rules(num_stages):
    return [
        (r'(?:backbone\.)?downsample_layers\.(\d+)\.(\d+)\.(weight|bias)', r'backbone.downsample_layers.\1.\2.\3'),
        (r'(?:backbone\.)?norm(\d+)\.(weight|bias)', r'backbone.norm\1.\2'),  # dense-prediction out norms
        (r'norm\.(weight|bias)', rf'backbone.norm{num_stages - 1}.\1'),  # classification head norm
        (r'head\.(weight|bias)', r'head.fc.\1'),
    ] + BLOCK_RULES


def is_deploy_form(state):
    """True when a (converted or official) state dict holds the re-parameterised inference form."""
    return not any('origin_bn' in k or k.endswith('ffn_norm.running_var') or 'pwconv2.2.' in k for k in state)


def infer_arch(state):
    """``dict(depths, dims, kernel_sizes)`` read off the depthwise convs of a converted state dict."""
    depths, dims, kernels = [], [], []
    i = 0
    while f'backbone.stages.{i}.0.pwconv1.weight' in state:
        stage = []
        while f'backbone.stages.{i}.{len(stage)}.pwconv1.weight' in state:
            prefix = f'backbone.stages.{i}.{len(stage)}.dwconv'
            stage.append(state.get(f'{prefix}.lk_origin.weight', state.get(f'{prefix}.weight')).shape[-1])
        depths.append(len(stage))
        dims.append(state[f'backbone.stages.{i}.0.pwconv1.weight'].shape[1])
        kernels.append(tuple(stage))
        i += 1
    return dict(depths=tuple(depths), dims=tuple(dims), kernel_sizes=tuple(kernels))


def _normalise(entry):
    depths = tuple(entry['depths'])
    return dict(depths=depths, dims=tuple(entry['dims']),
                kernel_sizes=tuple(tuple(k) for k in entry.get('kernel_sizes') or _SMALL_PATTERN.get(depths, ())))


def convert(checkpoint, ema=False, deploy=False, arch=None):
    """Convert an official UniRepLKNet checkpoint (training or deploy form, classification or dense prediction) into
    the state dict of an mmpretrain ``ImageClassifier`` with a ``largekernel.UniRepLKNet`` backbone, checked by
    loading it strictly into the detected (or given) arch; ``deploy=True`` returns the deploy form.
    Returns ``(state dict, summary)``."""
    state = unwrap(checkpoint, ema)
    stages = {int(k.split('stages.')[1].split('.')[0]) for k in state if 'stages.' in k}
    state = rename(state, rules(max(stages) + 1 if stages else 4), 'official UniRepLKNet checkpoint')
    backbone, head = split_head(state)
    deployed = is_deploy_form(state)
    build_arch, label = resolve_requested_arch('UniRepLKNet', arch, infer_arch(state), UniRepLKNet.arch_zoo,
                                               _normalise)
    out = convert_and_check(backbone, head, UniRepLKNet, dict(arch=build_arch, deploy=deployed),
                            'UniRepLKNet checkpoint', deploy and not deployed)
    return out, dict(arch=label, form='deploy' if deploy or deployed else 'training')


def convert_unireplknet(checkpoint, ema=False, deploy=False, arch=None):
    """:func:`convert`, the state dict only."""
    return convert(checkpoint, ema, deploy, arch)[0]
