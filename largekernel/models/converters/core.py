"""What every checkpoint converter shares: unwrapping, rule-based renaming, checking against the target model and
the deploy conversion.

A converter turns an official checkpoint into the state dict of an mmpretrain ``ImageClassifier`` with a largekernel
backbone (``backbone.*``, ``head.fc.*``) in four steps:

1. :func:`unwrap` takes the weights out of their wrapping (``state_dict`` / ``model`` / ``module`` entries, the EMA
   copy ``model_ema`` with ``ema=True``, a DistributedDataParallel ``module.`` prefix);
2. :func:`rename` applies the family's ordered rules: every key must match exactly one rule, or one :class:`Drop`
   rule that states why it is dropped;
3. :func:`build_backbone` builds the backbone of the detected arch on the meta device and loads the renamed weights
   strictly (the tensors are assigned, not copied), so any unknown, missing or mis-shaped key is reported at once;
4. with ``deploy``, the model's own ``switch_to_deploy()`` produces the inference form (:func:`deploy_state`): the
   merge is never re-implemented on raw state dicts.

Every key mismatch raises :class:`CheckpointMismatchError`, which lists the unknown and the missing keys.
"""
import re

import torch

HEAD_KEYS = ('head.fc.weight', 'head.fc.bias')
_WRAPPERS = ('state_dict', 'model', 'module')
_EMA_WRAPPERS = ('model_ema', 'state_dict_ema')


class CheckpointMismatchError(ValueError):
    """A checkpoint whose keys do not match what a converter or the target model expects.

    ``unknown``: keys of the checkpoint that nothing accepts; ``missing``: keys the target needs that the checkpoint
    lacks; ``mismatched``: ``'key: checkpoint shape vs model shape'`` lines; ``notes``: further explanations."""

    def __init__(self, source, unknown=(), missing=(), mismatched=(), notes=(), limit=12):
        self.source, self.unknown, self.missing = source, list(unknown), list(missing)
        self.mismatched, self.notes = list(mismatched), list(notes)
        parts = [f'{len(keys)} {what} keys: {_preview(keys, limit)}'
                 for what, keys in (('unknown', self.unknown), ('missing', self.missing),
                                    ('shape-mismatched', self.mismatched)) if keys]
        super().__init__(f'{source}: ' + '; '.join(parts + self.notes))


def _preview(keys, limit):
    return str(keys[:limit])[:-1] + (f', ... ({len(keys) - limit} more)]' if len(keys) > limit else ']')


def unwrap(checkpoint, ema=False):
    """The state dict inside ``checkpoint``: its ``state_dict``, ``model`` or ``module`` entry (the first that is a
    dict), else the checkpoint itself; with ``ema=True`` the EMA weights (``model_ema``, the ConvNeXt-codebase name, or
    timm's ``state_dict_ema``). A DistributedDataParallel ``module.`` key prefix is removed."""
    if not isinstance(checkpoint, dict):
        raise TypeError(f'a checkpoint must be a dict (of tensors, or holding one under {list(_WRAPPERS)}), got '
                        f'{type(checkpoint).__name__}')
    entries = list(checkpoint)
    if ema:
        key = next((k for k in _EMA_WRAPPERS if isinstance(checkpoint.get(k), dict)), None)
        if key is None:
            raise KeyError(f'--ema: the checkpoint has no EMA weights (no dict entry {list(_EMA_WRAPPERS)}); its '
                           f'entries: {_preview(entries, 8)}. Drop --ema to convert the regular weights.')
        state = checkpoint[key]
    else:
        key = next((k for k in _WRAPPERS if isinstance(checkpoint.get(k), dict)), None)
        state = checkpoint if key is None else checkpoint[key]
    not_tensors = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        where = f'its "{key}" entry' if key else 'the checkpoint'
        raise TypeError(f'{where} is not a state dict: {len(not_tensors)} entries are not tensors '
                        f'({_preview(not_tensors, 8)}); expected a dict of tensors or one under {list(_WRAPPERS)} '
                        f'(EMA: {list(_EMA_WRAPPERS)})')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


class Drop:
    """The target of a rule whose keys are dropped on purpose; ``reason`` says why."""

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return f'Drop({self.reason!r})'


def rename(state, rules, source):
    """Rename every key of ``state`` by the one rule whose regex matches it whole, keeping the order of ``state``.

    A rule is ``(regex, target)``; ``target`` is a ``re`` template (``\\1``, ``\\g<name>``), a callable of the match,
    or a :class:`Drop`. Keys matching no rule raise :class:`CheckpointMismatchError` (listing all of them); a key
    matching several rules, or two keys with the same new name, raise ``ValueError``."""
    rules = [(re.compile(pattern), target) for pattern, target in rules]
    out, unknown, origin = {}, [], {}
    for key, value in state.items():
        hits = [(m, target) for pattern, target in rules for m in [pattern.fullmatch(key)] if m]
        if not hits:
            unknown.append(key)
            continue
        if len(hits) > 1:
            raise ValueError(f'{source}: key {key!r} matches {len(hits)} rules '
                             f'({[m.re.pattern for m, _ in hits]}); the rules must be disjoint')
        match, target = hits[0]
        if isinstance(target, Drop):
            continue
        new = target(match) if callable(target) else match.expand(target)
        if new in out:
            raise ValueError(f'{source}: {origin[new]!r} and {key!r} both map to {new!r} (two layouts mixed?)')
        out[new], origin[new] = value, key
    if unknown:
        raise CheckpointMismatchError(source, unknown=unknown)
    return out


def split_head(state):
    """``(backbone state without the 'backbone.' prefix, head.fc.* entries)``; any other key raises."""
    backbone = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    head = {k: v for k, v in state.items() if k in HEAD_KEYS}
    other = [k for k in state if not k.startswith('backbone.') and k not in HEAD_KEYS]
    if other:
        raise CheckpointMismatchError('converted checkpoint', unknown=other,
                                      notes=['only backbone.* and head.fc.{weight,bias} keys are expected'])
    return backbone, head


def check_keys(state, expected, source):
    """Compare ``state`` with ``expected`` (a model's state dict); raise :class:`CheckpointMismatchError` listing the
    unknown, missing and shape-mismatched keys."""
    unknown = [k for k in state if k not in expected]
    missing = [k for k in expected if k not in state]
    mismatched = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}'
                  for k in state if k in expected and state[k].shape != expected[k].shape]
    if unknown or missing or mismatched:
        raise CheckpointMismatchError(source, unknown, missing, mismatched)


def out_norm_indices(backbone_state):
    """Indices of the out norms ``norm{i}`` present in a backbone state dict (sorted)."""
    return sorted({int(m[1]) for m in (re.match(r'norm(\d+)\.', k) for k in backbone_state) if m})


def build_backbone(backbone_cls, kwargs, backbone_state, source, prepare=None):
    """Build ``backbone_cls(**kwargs)`` on the meta device, with out norms where the checkpoint has them (the head norm
    of a classifier, or every ``norm{i}`` of a dense-prediction backbone), let ``prepare(model)`` re-parameterise the
    modules that are already merged in the checkpoint, and load ``backbone_state`` strictly by assignment."""
    norms = out_norm_indices(backbone_state)
    with torch.device('meta'):
        model = backbone_cls(**kwargs, out_indices=tuple(norms) or (-1,), out_norms=bool(norms))
        if prepare is not None:
            prepare(model)
    check_keys(backbone_state, model.state_dict(), f'{source} vs {backbone_cls.__name__}({_kwargs_repr(kwargs)})')
    model.load_state_dict(backbone_state, strict=True, assign=True)
    return model.eval()


def deploy_state(model):
    """The deploy-form state dict of a loaded training-form (or partly merged) backbone, via its own
    ``switch_to_deploy()``."""
    with torch.no_grad():
        model.switch_to_deploy()
    return model.state_dict()


def convert_and_check(backbone_state, head, backbone_cls, kwargs, source, deploy=False, prepare=None):
    """Load the renamed ``backbone_state`` into the backbone it describes (raising on any mismatch) and return the
    classifier state dict: the renamed tensors themselves, or with ``deploy`` (implied by ``prepare``, i.e. a partly
    merged checkpoint) the deploy form produced by ``switch_to_deploy()``."""
    model = build_backbone(backbone_cls, kwargs, backbone_state, source, prepare)
    if deploy or prepare is not None:
        backbone_state = deploy_state(model)
    out = {'backbone.' + k: v for k, v in backbone_state.items()}
    out.update(head)
    return out


def _kwargs_repr(kwargs):
    return ', '.join(f'{k}={v!r}' for k, v in kwargs.items())


def head_classes(state):
    """Number of classes of ``head.fc`` (None without a head)."""
    weight = state.get('head.fc.weight')
    return None if weight is None else weight.shape[0]


def resolve_requested_arch(family, requested, inferred, arch_zoo, normalise=lambda a: a):
    """The arch to build: ``requested`` (a zoo name, checked against what the weights show), else the zoo entry the
    weights match (``--arch`` is required when several do), else the inferred dict itself. ``normalise`` brings a
    zoo entry into the form of ``inferred``. Returns ``(arch for the constructor, label)``."""
    found = [name for name, entry in arch_zoo.items() if normalise(dict(entry)) == inferred]
    if requested is None:
        if len(found) > 1:
            raise ValueError(f'{family}: the weights ({inferred}) fit the variants {found}; pass --arch to choose')
        return (found[0], found[0]) if found else (inferred, f'custom {inferred}')
    table = {name.lower(): name for name in arch_zoo}
    if requested.lower() not in table:
        raise KeyError(f'{family}: unknown --arch {requested!r}; valid: {sorted(arch_zoo)}')
    name = table[requested.lower()]
    if name not in found:
        raise ValueError(f'{family}: --arch {name} ({arch_zoo[name]}) does not match the checkpoint, whose weights '
                         f'show {inferred}' + (f' (arch {found})' if found else ''))
    return name, name
