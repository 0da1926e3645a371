"""RepLKNet checkpoints (official DingXiaoH/RepLKNet-pytorch ``replknet.py``, or mmpretrain 1.x) ->
``largekernel.RepLKNet``.

Key layouts (official; mmpretrain has the same backbone names under ``backbone.``):

| official                                   | largekernel (mmpretrain classifier)                    |
|--------------------------------------------|--------------------------------------------------------|
| ``stem.j.{conv,bn}.*``                     | ``backbone.downsample_layers.0.j.*``                   |
| ``transitions.i.j.{conv,bn}.*``            | ``backbone.downsample_layers.{i+1}.j.*``               |
| ``stages.i.blocks.b.<rest>``               | ``backbone.stages.i.b.<rest>`` (block names unchanged) |
| ``stages.i.norm.*`` (XL dense prediction)  | ``backbone.norm{i}.*``                                 |
| ``norm.*`` (head BN; mmpretrain: ``backbone.stages.3.norm``) | ``backbone.norm3.*``                 |
| ``head.{weight,bias}`` (mmpretrain: ``head.fc.*``) | ``head.fc.*``                                  |

Block names: ``prelkb_bn``, ``preffn_bn``, ``pw1`` / ``pw2`` and ``large_kernel.{lkb_origin,small_conv}`` conv-BN
units (``conv.weight``, ``bn.*``); RepLKNet-XL has no ``small_conv`` and a 1.5x wider depthwise part.

Forms: training-form checkpoints convert key by key (``deploy=True``: then through ``switch_to_deploy()``).
Checkpoints already partly re-parameterised by the official code (``small_kernel_merged=True``: one biased
``large_kernel.lkb_reparam``; ``deep_fuse_BN()`` after it: conv-BN units folded into biased convs) load into a model
whose corresponding modules were re-parameterised first, and always come out in the deploy form.
"""

from ..backbones.replknet import ReparamLargeKernelConv, RepLKNet
from ..layers import ConvBN
from .core import CheckpointMismatchError, convert_and_check, rename, resolve_requested_arch, split_head, unwrap

LAYOUTS = ('auto', 'official', 'mmpretrain')
BN = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
UNIT = rf'(?:conv\.(?:weight|bias)|bn\.{BN})'
BLOCK = (rf'(?:(?:prelkb_bn|preffn_bn)\.{BN}|(?:pw1|pw2|large_kernel\.lkb_origin|large_kernel\.small_conv)\.{UNIT}'
         r'|large_kernel\.lkb_reparam\.(?:weight|bias))')


def rules(layout, num_stages):
    """The rename rules of ``layout`` (``'official'`` or ``'mmpretrain'``) for a ``num_stages``-stage model."""
    official = layout == 'official'
    p = '' if official else r'backbone\.'
    return [
        (rf'{p}stem\.(\d+)\.({UNIT})', r'backbone.downsample_layers.0.\1.\2'),
        (rf'{p}transitions\.(\d+)\.(\d+)\.({UNIT})',
         lambda m: f'backbone.downsample_layers.{int(m[1]) + 1}.{m[2]}.{m[3]}'),
        (rf'{p}stages\.(\d+)\.blocks\.(\d+)\.({BLOCK})', r'backbone.stages.\1.\2.\3'),
        (rf'{p}stages\.(\d+)\.norm\.({BN})', r'backbone.norm\1.\2'),
    ] + ([(rf'norm\.({BN})', rf'backbone.norm{num_stages - 1}.\1'), (r'head\.(weight|bias)', r'head.fc.\1')]
         if official else [(r'head\.fc\.(weight|bias)', r'head.fc.\1')])


def detect_layout(state):
    """``'official'`` (``stem.*`` keys) or ``'mmpretrain'`` (``backbone.stem.*`` keys)."""
    if any(k.startswith('backbone.stem.') for k in state):
        return 'mmpretrain'
    if any(k.startswith('stem.') for k in state):
        return 'official'
    raise CheckpointMismatchError('not a RepLKNet checkpoint', unknown=list(state)[:6], notes=[
        'it has neither official "stem.*" nor mmpretrain "backbone.stem.*" keys'])


def _num_stages(state, layout):
    prefix = 'backbone.stages.' if layout == 'mmpretrain' else 'stages.'
    ids = {int(k[len(prefix):].split('.')[0]) for k in state if k.startswith(prefix)}
    if not ids:
        raise CheckpointMismatchError('not a RepLKNet checkpoint', missing=[prefix + '*'])
    return max(ids) + 1


def rename_replknet(state, layout='auto'):
    """Our classifier keys for an unwrapped official or mmpretrain state dict (values untouched)."""
    if layout not in LAYOUTS:
        raise ValueError(f'unknown RepLKNet checkpoint layout {layout!r}; valid: {list(LAYOUTS)}')
    if layout == 'auto':
        layout = detect_layout(state)
    return rename(state, rules(layout, _num_stages(state, layout)), f'{layout} RepLKNet checkpoint')


def infer_arch(state):
    """``RepLKNet`` arch dict read off converted keys (``small_kernel`` None where absent or merged)."""
    layers, channels, kernels, small, dw_ratio = [], [], [], None, 1
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
        dw_ratio = weight.shape[0] / channels[-1]
        i += 1
    return dict(large_kernel_sizes=tuple(kernels), layers=tuple(layers), channels=tuple(channels),
                small_kernel=small, dw_ratio=int(dw_ratio) if dw_ratio == int(dw_ratio) else dw_ratio)


def merged_units(state):
    """Prefixes (backbone-relative) of the modules the official code already re-parameterised in ``state``:
    ``large_kernel`` modules with ``lkb_reparam``, and conv-BN units whose conv has a bias (``deep_fuse_BN``)."""
    large = sorted({k[:-len('.lkb_reparam.weight')] for k in state if k.endswith('.lkb_reparam.weight')})
    folded = sorted({k[:-len('.conv.bias')] for k in state if k.endswith('.conv.bias')})
    unmergeable = [u for u in folded if u.endswith(('.lkb_origin', '.small_conv'))]
    if unmergeable:
        raise CheckpointMismatchError('deep_fuse_BN() RepLKNet checkpoint', notes=[
            f'its large-kernel branches are folded but not merged ({unmergeable[:4]}): re-parameterise it with the '
            'official structural_reparam() before deep_fuse_BN(), or convert the training-form checkpoint'])
    return large, folded


def _prepare(large, folded):
    def prepare(model):
        modules = dict(model.named_modules())
        for name, cls in [(n, ReparamLargeKernelConv) for n in large] + [(n, ConvBN) for n in folded]:
            if not isinstance(modules.get(name), cls):
                raise CheckpointMismatchError('partly merged RepLKNet checkpoint', unknown=[name], notes=[
                    f'{name} is not a {cls.__name__} of the model'])
            modules[name].reparameterize()
    return prepare


def _normalise(arch, merged):
    arch = dict(arch, dw_ratio=arch.get('dw_ratio', 1))
    return dict(arch, small_kernel=None) if merged else arch


def convert(checkpoint, ema=False, deploy=False, arch=None, layout='auto'):
    """Convert an official or mmpretrain RepLKNet checkpoint (any wrapping; training or partly merged form) into the
    state dict of an mmpretrain ``ImageClassifier`` with a ``largekernel.RepLKNet`` backbone (``backbone.*``,
    ``head.fc.*``), checked by loading it strictly into the ``RepLKNet`` of the detected (or given) ``arch``.
    ``deploy=True`` returns the deploy form (implied for partly merged inputs). Returns ``(state dict, summary)``.

    Raises ``CheckpointMismatchError`` naming every key that is unknown or missing."""
    state = rename_replknet(unwrap(checkpoint, ema), layout)
    backbone, head = split_head(state)
    large, folded = merged_units(backbone)
    merged = bool(large or folded)
    norm = lambda a: _normalise(a, merged)  # noqa: E731
    build_arch, label = resolve_requested_arch('RepLKNet', arch, norm(infer_arch(state)), RepLKNet.arch_zoo, norm)
    out = convert_and_check(backbone, head, RepLKNet, dict(arch=build_arch), 'RepLKNet checkpoint', deploy,
                            _prepare(large, folded) if merged else None)
    return out, dict(arch=label, form='deploy' if deploy or merged else 'training')


def convert_replknet(checkpoint, layout='auto', deploy=False, arch=None, ema=False):
    """:func:`convert`, the state dict only."""
    return convert(checkpoint, ema, deploy, arch, layout)[0]
