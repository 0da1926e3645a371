"""Checks of a built model and its loaded weights that mmengine does not make, run by the Runner (installed when
``largekernel`` is imported): each stops with a message naming the bad value.

* ``before_run`` (train, val and test): the channels the backbone's ``out_indices`` give must be those the neck
  (mmdet / mmdet3d ``neck.in_channels``), the decode / auxiliary heads (mmseg ``in_channels`` with ``in_index``) or
  the classification head (``head.in_channels`` = the last output) expect; a mismatch otherwise surfaces as a
  shape error deep inside the first forward.
* ``before_train``: a SLaK / ShiftWise backbone whose loaded weights are sparse (a sparse checkpoint) needs a sparse
  hook: ``KeepSparsityHook`` (``configs/_base_/sparse_finetune.py``; ``dense_finetune=True`` to fine-tune densely on
  purpose) or ``DynamicSparseHook``. Without one the zeros would silently start training as dense weights.
"""
from mmengine.model import is_model_wrapper

SPARSE_FAMILIES = ('SLaK', 'ShiftWise')


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def backbone_out_channels(backbone):
    """Channels of the backbone's outputs in order, or None for a backbone that is not a largekernel one."""
    channels, out_indices = getattr(backbone, 'channels', None), getattr(backbone, 'out_indices', None)
    if channels is None or out_indices is None:
        return None
    return [channels[i] for i in out_indices]


def check_neck_channels(model):
    """Raise ValueError if the neck / heads do not take the channels the backbone outputs."""
    model = _unwrap(model)
    backbone = getattr(model, 'backbone', None)
    out = backbone_out_channels(backbone) if backbone is not None else None
    if out is None:
        return
    where = (f'{type(backbone).__name__} out_indices={tuple(backbone.out_indices)} outputs channels {out}')
    neck = getattr(model, 'neck', None)
    if neck is not None and not hasattr(neck, 'in_channels') and hasattr(neck, '__getitem__'):
        neck = neck[0]                                    # mmdet: a list of necks, the first takes the backbone
    in_channels = getattr(neck, 'in_channels', None) if neck is not None else None
    if isinstance(in_channels, (list, tuple)):
        if list(in_channels) != out:
            raise ValueError(f'{where}, but the neck {type(neck).__name__} has in_channels={list(in_channels)}; '
                             f'set neck.in_channels={out} or change the backbone out_indices')
        return
    if isinstance(in_channels, int) and in_channels != out[-1]:      # a neck on the last output (mmpretrain)
        raise ValueError(f'{where}, but the neck {type(neck).__name__} has in_channels={in_channels}; set '
                         f'neck.in_channels={out[-1]} (the last output)')
    if neck is None:
        for name in ('decode_head', 'auxiliary_head'):
            heads = getattr(model, name, None)
            for head in (heads if hasattr(heads, '__len__') and not hasattr(heads, 'in_index') else [heads]):
                if head is not None and hasattr(head, 'in_index'):
                    _check_indexed_head(name, head, out, where)
    head = getattr(model, 'head', None)
    if (neck is None or in_channels is None) and isinstance(getattr(head, 'in_channels', None), int) \
            and not hasattr(head, 'in_index') and head.in_channels != out[-1]:
        raise ValueError(f'{where}, but the head {type(head).__name__} has in_channels={head.in_channels}; set '
                         f'head.in_channels={out[-1]} (the last output)')


def _check_indexed_head(name, head, out, where):
    index, channels = head.in_index, head.in_channels
    pairs = list(zip(index, channels)) if isinstance(index, (list, tuple)) else [(index, channels)]
    for i, c in pairs:
        if not -len(out) <= i < len(out):
            raise ValueError(f'{where}, but {name}.in_index={head.in_index} selects output {i}; valid indices: '
                             f'0..{len(out) - 1}')
        if isinstance(c, int) and c != out[i]:
            expected = [out[j] for j in index] if isinstance(index, (list, tuple)) else out[index]
            raise ValueError(f'{where}, but {name} ({type(head).__name__}) has in_channels={head.in_channels} for '
                             f'in_index={head.in_index}; set {name}.in_channels={expected}')


def sparse_weights(backbone, max_zero_fraction=1.0):
    """Name -> zero fraction of the backbone's 2-D / 4-D weights that are partly (not wholly) zero."""
    found = {}
    for name, p in backbone.named_parameters():
        if p.dim() not in (2, 4) or not name.endswith('weight') or p.is_meta:
            continue
        zeros = (p.detach() == 0).float().mean().item()
        if 0.01 <= zeros < max_zero_fraction:
            found[name] = zeros
    return found


def check_sparse_checkpoint_has_a_hook(runner):
    """Raise ValueError if a SLaK / ShiftWise backbone holds sparse weights but no sparse hook is configured."""
    from .sparse import DynamicSparseHook, KeepSparsityHook
    if any(isinstance(h, (DynamicSparseHook, KeepSparsityHook)) for h in runner.hooks):
        return
    backbone = getattr(_unwrap(runner.model), 'backbone', None)
    if backbone is None or type(backbone).__name__ not in SPARSE_FAMILIES:
        return
    found = sparse_weights(backbone)
    if found:
        name, zeros = next(iter(found.items()))
        raise ValueError(f'the loaded {type(backbone).__name__} weights are sparse ({len(found)} tensors partly '
                         f'zero, e.g. backbone.{name}: {zeros:.0%} zeros) but the config has no sparse hook; add '
                         "dict(type='largekernel.KeepSparsityHook') to custom_hooks (configs/_base_/"
                         'sparse_finetune.py) to keep the pattern, with dense_finetune=True to train the zeros on '
                         'purpose, or DynamicSparseHook to continue sparse training')


_installed = False


def install():
    """Run the checks from the Runner's ``before_run`` / ``before_train`` (before any hook of that stage); once."""
    global _installed
    if _installed:
        return
    _installed = True
    from mmengine.runner import Runner
    original = Runner.call_hook

    def call_hook(self, fn_name, **kwargs):
        if fn_name == 'before_run':
            check_neck_channels(self.model)
        elif fn_name == 'before_train':
            check_sparse_checkpoint_has_a_hook(self)
        return original(self, fn_name, **kwargs)

    Runner.call_hook = call_hook
