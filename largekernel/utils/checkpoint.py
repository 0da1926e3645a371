"""Loading checkpoints: reading files safely, unwrapping state dicts and strict, explained loading into a backbone.

Every checkpoint largekernel reads (``load_from``, ``--resume``, tools/test.py, ``init_cfg`` Pretrained, the model
converters) is unpickled with ``torch.load(weights_only=True)``: tensors, containers and plain values, plus
``SAFE_GLOBALS``, the few classes that mmengine Runner checkpoints hold. A file that needs anything else (which is
how a pickle runs code) is refused with ``UnsafeCheckpointError``. Full unpickling is an explicit opt-in for files
you trust: ``LARGEKERNEL_UNSAFE_LOAD=1`` (``--unsafe-load`` of tools/train.py and tools/test.py) or
``load_checkpoint(..., unsafe=True)``; it warns, naming the file.
"""
import argparse
import contextlib
import contextvars
import logging
import os
import os.path as osp
import pickle
import re
import warnings
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

UNSAFE_LOAD_ENV = 'LARGEKERNEL_UNSAFE_LOAD'
_TRUE, _FALSE = ('1', 'true', 'yes', 'on'), ('', '0', 'false', 'no', 'off')
_unsafe_requested = contextvars.ContextVar('largekernel_unsafe_load', default=False)


def _numpy_safe_globals():
    """What numpy arrays and scalars pickle to: ``_reconstruct``/``ndarray`` (arrays), ``scalar`` (scalars),
    ``dtype`` and its per-type classes (a dtype is rebuilt by calling ``dtype`` and then ``BUILD`` on the instance,
    which the weights-only unpickler allows for allow-listed types only). The numeric and bool dtypes only: an
    object array would carry arbitrary pickled objects. Files written under numpy 1.x name ``numpy.core``."""
    multiarray = np._core.multiarray
    dtypes = sorted({type(np.dtype(code)) for code in '?' + np.typecodes['AllInteger'] + np.typecodes['AllFloat']},
                    key=lambda t: t.__name__)
    return [np.ndarray, np.dtype, *dtypes, multiarray._reconstruct, multiarray.scalar,
            (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
            (multiarray.scalar, 'numpy.core.multiarray.scalar')]


_STATISTICS = ('current', 'max', 'mean', 'min')


def _history_buffer_statistic(obj, name):
    """``builtins.getattr`` as safe loading sees it. ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')`` and so on; a general ``getattr`` would reach ``os.system`` and the like."""
    if obj is HistoryBuffer and name in _STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed: builtins.getattr is allowed for '
                                 f'HistoryBuffer.{{{",".join(_STATISTICS)}}} only')


# Besides what torch allows by default (tensors, storages, OrderedDict, Counter, non-empty bytes): mmengine's message
# hub pickles its logged scalars as ``HistoryBuffer`` objects (numpy arrays and the buffer's statistics methods),
# metrics may be numpy scalars, an empty array's data pickles as ``bytes()``, and the official training scripts (the
# DeiT/ConvNeXt lineage) save their ``argparse.Namespace``.
SAFE_GLOBALS = [HistoryBuffer, (_history_buffer_statistic, 'builtins.getattr'), bytes, argparse.Namespace,
                *_numpy_safe_globals()]


def _safe_globals():
    """torch's ``safe_globals`` context for those of ``SAFE_GLOBALS`` not allowed already (leaving the user's own
    ``add_safe_globals`` in place when it exits)."""
    allowed = torch.serialization.get_safe_globals()
    return torch.serialization.safe_globals([g for g in SAFE_GLOBALS if g not in allowed])


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint that safe loading refused: it needs a global outside the allow-list."""


def unsafe_load_requested():
    """Whether full unpickling was asked for: ``load_checkpoint(..., unsafe=True)`` or ``LARGEKERNEL_UNSAFE_LOAD``."""
    if _unsafe_requested.get():
        return True
    value = os.environ.get(UNSAFE_LOAD_ENV, '').strip().lower()
    if value not in _TRUE + _FALSE:
        raise ValueError(f'{UNSAFE_LOAD_ENV}={os.environ[UNSAFE_LOAD_ENV]!r} is not a switch; use one of '
                         f'{_TRUE} to allow full unpickling of trusted checkpoints, or {_FALSE[1:]} (or unset)')
    return value in _TRUE


def _offending(filename, error):
    """What safe loading refused: every global outside the allow-list (zip-format files), else torch's reason."""
    found = re.search(r'(getattr\(.*\)) is not allowed', str(error))
    if found:
        return found.group(1)
    try:
        with _safe_globals():
            names = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except ValueError:  # a legacy (pre-zip) file: torch names the first global only
        names = re.findall(r'GLOBAL (\S+)', str(error))
    if names:
        return f'the global{"s" if len(names) > 1 else ""} {", ".join(names)}'
    return str(error).strip().splitlines()[-1]


def _safe_torch_load(filename, map_location):
    """``torch.load(weights_only=True)`` with ``SAFE_GLOBALS``. ``HistoryBuffer.__setstate__`` puts the statistics
    methods it unpickles into a class-wide table that the loggers call later: anything but the genuine methods
    there is refused, and the table is restored."""
    table = HistoryBuffer._statistics_methods
    before = dict(table)
    try:
        with _safe_globals():
            checkpoint = torch.load(filename, map_location=map_location, weights_only=True)
    finally:
        foreign = sorted(k for k, v in table.items() if v is not before.get(k, getattr(HistoryBuffer, k, None)))
        if foreign:
            table.clear()
            table.update(before)
    if foreign:
        raise pickle.UnpicklingError(f'getattr(HistoryBuffer, {foreign}) is not allowed: the file replaces '
                                     'HistoryBuffer statistics methods')
    return checkpoint


def torch_load(filename, map_location=None):
    """``torch.load`` of a local file, safe unless full unpickling was requested; then the file is still read
    safely first and only unpickled fully, with a warning naming it, if safe loading refuses it."""
    try:
        return _safe_torch_load(filename, map_location)
    except pickle.UnpicklingError as error:
        what = _offending(filename, error)
        if not unsafe_load_requested():
            raise UnsafeCheckpointError(
                f'{filename} was refused: it needs {what}, which safe loading (torch.load weights_only=True with '
                'largekernel.utils.checkpoint.SAFE_GLOBALS) does not allow; unpickling it could run code. If you '
                f'trust {filename}, allow full unpickling: set {UNSAFE_LOAD_ENV}=1 (tools/train.py, tools/test.py: '
                '--unsafe-load; load_checkpoint(..., unsafe=True)).') from None
    warnings.warn(f'{filename} needs {what}: unpickling it fully (weights_only=False) as {UNSAFE_LOAD_ENV} / '
                  'unsafe=True asks; this runs whatever code the file carries, so only do it for files you trust',
                  stacklevel=2)
    return torch.load(filename, map_location=map_location, weights_only=False)


def load_from_local(filename, map_location=None):
    """mmengine ``CheckpointLoader``'s local scheme (registered by ``largekernel.engine.runtime_fixes``)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    return torch_load(filename, map_location=map_location)


def load_url(url, model_dir=None, map_location=None, progress=True):
    """mmengine's ``load_url`` (behind its http(s)://, torchvision://, open-mmlab:// and mmcls:// schemes), which
    unpickles downloads fully: the file is downloaded into torch's hub cache as before and then read safely."""
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(urlparse(url).path))
    if not osp.exists(cached):
        torch.hub.download_url_to_file(url, cached, progress=progress)
    return torch_load(cached, map_location=map_location)


def load_checkpoint(filename, map_location='cpu', unsafe=False):
    """Read a checkpoint (local path, or any mmengine URL scheme) the way every largekernel entry point does: safely,
    or with ``unsafe=True`` fully unpickled if safe loading refuses it (with a warning naming the file)."""
    filename = str(filename)
    with allow_unsafe_load(unsafe):
        if '://' not in filename:
            return load_from_local(filename, map_location=map_location)
        return CheckpointLoader.load_checkpoint(filename, map_location=map_location)


@contextlib.contextmanager
def allow_unsafe_load(enabled=True):
    """Within the block, checkpoints that safe loading refuses are unpickled fully (with a warning naming each);
    what tools/train.py and tools/test.py's ``--unsafe-load`` does, without changing the environment."""
    token = _unsafe_requested.set(True) if enabled else None
    try:
        yield
    finally:
        if token is not None:
            _unsafe_requested.reset(token)


def _unwrap_state_dict(checkpoint):
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model', 'module', 'model_ema'):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                return checkpoint[key]
    return checkpoint


def load_pretrained(model, checkpoint, prefix=None, map_location='cpu'):
    """Load ``checkpoint`` (path or URL) into ``model`` strictly (see ``load_state_dict_checked``). ``prefix`` (e.g.
    ``'backbone.'``) is stripped and keys without it are dropped."""
    state = _unwrap_state_dict(load_checkpoint(checkpoint, map_location=map_location))
    state = {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}
    if prefix:
        stripped = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not stripped:
            raise KeyError(f'no key of {checkpoint} starts with prefix {prefix!r}; first keys: {list(state)[:5]}')
        state = stripped
    load_state_dict_checked(model, state, source=str(checkpoint))


def _module_of(key):
    return key.split('.')[0]


def load_state_dict_checked(model, state, source='checkpoint'):
    """``load_state_dict`` that explains mismatches. Classification and dense-prediction forms of a backbone differ
    in their out norms only, so exactly two mismatches are tolerated, each logged: an out norm that only the dense
    form has (``model.dense_out_norms()``, e.g. UniRepLKNet's ``norm0..norm2``) may be absent from the checkpoint,
    and an out norm ``norm{i}`` of a stage the model has but does not normalise (e.g. a classification head norm
    loaded into ``out_norms=False``) may be extra. Anything else, a missing head norm included, raises."""
    own = model.state_dict()
    own_modules = {_module_of(k) for k in own}
    ckpt_modules = {_module_of(k) for k in state}
    optional = set(model.dense_out_norms()) if hasattr(model, 'dense_out_norms') else set()
    absent_norms = sorted(optional & (own_modules - ckpt_modules))
    num_stages = getattr(model, 'num_stages', 0)
    extra_norms = sorted(m for m in ckpt_modules - own_modules
                         if re.fullmatch(r'norm\d+', m) and int(m[4:]) < num_stages)
    missing = [k for k in own if k not in state and _module_of(k) not in absent_norms]
    unexpected = [k for k in state if k not in own and _module_of(k) not in extra_norms]
    shape = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
             for k in state if k in own and state[k].shape != own[k].shape]
    if missing or unexpected or shape:
        name = type(model).__name__
        hint = ''
        is_out_norm = lambda k: re.fullmatch(r'norm\d+', _module_of(k)) is not None  # noqa: E731
        required_norms = sorted({_module_of(k) for k in missing if is_out_norm(k)})
        if required_norms:
            hint += (f' {required_norms} must be in the checkpoint: only the out norms the dense-prediction form adds '
                     f'({sorted(optional) or "none here"}) may be absent; the last stage\'s is the classification '
                     'head\'s norm.')
        if any(('bn' in k or 'norm' in k) and not is_out_norm(k) for k in missing + unexpected):
            hint += (f' The model is in {"deploy" if getattr(model, "deploy", False) else "training"} form: a '
                     'checkpoint of the other form needs deploy= set to match (or tools/model_converters/'
                     'reparameterize.py); an official checkpoint needs tools/model_converters/<family>_to_'
                     'largekernel.py first.')
        raise RuntimeError(
            f'{source} does not match this {name} (wrong arch or form?). '
            f'missing keys ({len(missing)}): {missing[:8]}; unexpected keys ({len(unexpected)}): {unexpected[:8]}; '
            f'shape mismatches ({len(shape)}): {shape[:8]}.{hint}')
    model.load_state_dict({k: v for k, v in state.items() if _module_of(k) not in extra_norms}, strict=False)
    if extra_norms or absent_norms:
        print_log(f'{source}: out norms this model does not have, dropped: {extra_norms}; dense-prediction out norms '
                  f'not in the checkpoint, kept at their initial values: {absent_norms}', logger='current',
                  level=logging.INFO)
