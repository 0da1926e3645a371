"""The published numbers of every model, read from ``model-index.yml`` and the ``configs/<family>/metafile.yml`` it
imports (OpenMMLab's model-index format).

    from largekernel.utils.model_index import find_model, get_model
    get_model('unireplknet-t_8xb128-accum4_in1k').top1      # by name (= the config's basename)
    find_model('UniRepLKNet', 'T', input_size=224).params   # by backbone class, arch and resolution

Each entry carries the published ``params`` / ``flops`` (1000-class head; FLOPs = multiply-accumulates at
``input_size``), ``top1``, the ``params_form`` the paper counts in and the recipe's published ``ema_decay`` (per optimizer step;
None: no EMA); ``target(key)`` gives the value a test checks
against: the entry's ``Reference`` count of the official model where the publication rounds more coarsely, else the
published figure.
"""
import difflib
import functools
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Optional

import yaml

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_PUBLISHED_KEYS = {'Parameters': 'params', 'FLOPs': 'flops'}


@dataclass(frozen=True)
class ModelEntry:
    """One ``Models`` entry of a metafile."""

    name: str
    collection: str
    config: Optional[str]
    backbone: str
    arch: str
    input_size: Any
    training_data: tuple
    params: Optional[int] = None
    flops: Optional[int] = None
    params_form: Optional[str] = None
    sparsity: Optional[float] = None
    ema_decay: Optional[float] = None
    reference: dict = field(default_factory=dict)
    results: tuple = ()
    weights: Optional[str] = None
    converted_from: dict = field(default_factory=dict)

    @property
    def top1(self):
        """Published ImageNet-1k top-1 accuracy (%), or None."""
        return self.metric('Image Classification', 'ImageNet-1k', 'Top 1 Accuracy')

    def metric(self, task, dataset, name):
        for result in self.results:
            if result['Task'] == task and result['Dataset'] == dataset and name in result['Metrics']:
                return result['Metrics'][name]
        return None

    def target(self, key):
        """The count a test checks: ``Reference[key]`` if given, else the published ``Parameters`` / ``FLOPs``."""
        if key in self.reference:
            return self.reference[key]
        if key in _PUBLISHED_KEYS and getattr(self, _PUBLISHED_KEYS[key]) is not None:
            return getattr(self, _PUBLISHED_KEYS[key])
        valid = sorted(set(self.reference) | {k for k, a in _PUBLISHED_KEYS.items() if getattr(self, a) is not None})
        raise KeyError(f'{self.name}: no published or reference value {key!r}; it has {valid}')


def _entry(model, path):
    meta = model.get('Metadata') or {}
    try:
        data = meta['Training Data']
        return ModelEntry(
            name=model['Name'], collection=model['In Collection'], config=model.get('Config'),
            backbone=meta['Backbone'], arch=str(meta['Arch']), input_size=meta['Input Size'],
            training_data=tuple([data] if isinstance(data, str) else data), params=meta.get('Parameters'),
            flops=meta.get('FLOPs'), params_form=meta.get('Params Form'), sparsity=meta.get('Sparsity'),
            ema_decay=meta.get('EMA Decay'), reference=dict(meta.get('Reference') or {}), results=tuple(model.get('Results') or ()),
            weights=model.get('Weights'), converted_from=dict(model.get('Converted From') or {}))
    except KeyError as e:
        raise KeyError(f'{path}: model {model.get("Name")!r} lacks the field {e.args[0]!r}') from None


@functools.lru_cache(maxsize=None)
def load_model_index(root=REPO_ROOT):
    """{name: ModelEntry} over every metafile ``model-index.yml`` imports, in file order."""
    with open(osp.join(root, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    entries = {}
    for metafile in index['Import']:
        with open(osp.join(root, metafile)) as f:
            content = yaml.safe_load(f)
        collections = {c['Name'] for c in content['Collections']}
        for model in content['Models']:
            entry = _entry(model, metafile)
            if entry.collection not in collections:
                raise ValueError(f'{metafile}: {entry.name} is "In Collection" {entry.collection!r}, '
                                 f'not one of {sorted(collections)}')
            if entry.name in entries:
                raise ValueError(f'{metafile}: model name {entry.name!r} is listed twice')
            entries[entry.name] = entry
    return entries


def load_collections(root=REPO_ROOT):
    """{collection name: its ``Collections`` entry (with the metafile path)}."""
    with open(osp.join(root, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    collections = {}
    for metafile in index['Import']:
        with open(osp.join(root, metafile)) as f:
            for c in yaml.safe_load(f)['Collections']:
                collections[c['Name']] = dict(c, metafile=metafile)
    return collections


def get_model(name, root=REPO_ROOT):
    """The entry called ``name``; an unknown name raises KeyError with the closest known names."""
    entries = load_model_index(root)
    if name not in entries:
        close = difflib.get_close_matches(name, entries, n=3, cutoff=0.5)
        raise KeyError(f'unknown model {name!r}' + (f'; did you mean {close}?' if close else '') +
                       f' ({len(entries)} models in model-index.yml)')
    return entries[name]


def list_models(collection=None, backbone=None, root=REPO_ROOT):
    """Entries of one collection (metafile) and / or one backbone class, in file order."""
    entries = list(load_model_index(root).values())
    for key, value in (('collection', collection), ('backbone', backbone)):
        if value is not None:
            known = sorted({getattr(e, key) for e in entries})
            if value not in known:
                raise KeyError(f'unknown {key} {value!r}; valid: {known}')
            entries = [e for e in entries if getattr(e, key) == value]
    return entries


def find_model(backbone, arch, input_size=224, root=REPO_ROOT):
    """The published ImageNet-1k classifier of ``backbone`` (class name) ``arch`` at ``input_size``.

    Several configs can share one (e.g. 1K and 22K->1K training of one architecture): their published sizes agree
    and the first listed is returned."""
    candidates = list_models(backbone=backbone, root=root)
    matches = [e for e in candidates if e.arch == arch and e.input_size == input_size and e.params is not None
               and e.training_data[-1] == 'ImageNet-1k']
    if not matches:
        known = sorted({(e.arch, e.input_size) for e in candidates if e.params is not None
                        and e.training_data[-1] == 'ImageNet-1k'}, key=str)
        raise KeyError(f'no published {backbone} {arch!r} at {input_size}; published (arch, input size): {known}')
    first = matches[0]
    for other in matches[1:]:
        if (other.params, other.flops, other.reference) != (first.params, first.flops, first.reference):
            raise ValueError(f'{first.name} and {other.name} publish different sizes for {backbone} {arch} at '
                             f'{input_size}')
    return first
