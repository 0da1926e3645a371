"""Loading checkpoints: reading files, unwrapping state dicts and strict, explained loading into a backbone."""
import logging

from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader


def load_checkpoint(filename, map_location='cpu'):
    """Read a checkpoint file (path or URL) the way every largekernel entry point does."""
    return CheckpointLoader.load_checkpoint(filename, map_location=map_location)


def _unwrap_state_dict(checkpoint):
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model', 'module', 'model_ema'):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                return checkpoint[key]
    return checkpoint


def load_pretrained(model, checkpoint, prefix=None, map_location='cpu'):
    """Load ``checkpoint`` (path or URL) into ``model`` strictly; only the out norms (``norm{i}.*``) may be absent
    or extra, since classification and dense-prediction forms differ there. ``prefix`` (e.g. ``'backbone.'``) is
    stripped and keys without it are dropped. Any other mismatch raises, listing the offending keys."""
    state = _unwrap_state_dict(load_checkpoint(checkpoint, map_location=map_location))
    state = {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}
    if prefix:
        stripped = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not stripped:
            raise KeyError(f'no key of {checkpoint} starts with prefix {prefix!r}; first keys: {list(state)[:5]}')
        state = stripped
    load_state_dict_checked(model, state, source=str(checkpoint))


def load_state_dict_checked(model, state, source='checkpoint'):
    """``load_state_dict`` that explains mismatches; out-norm keys are optional (logged, not fatal)."""
    own = model.state_dict()
    is_out_norm = lambda k: k.split('.')[0].startswith('norm') and k.split('.')[0][4:].isdigit()  # noqa: E731
    missing = [k for k in own if k not in state and not is_out_norm(k)]
    unexpected = [k for k in state if k not in own and not is_out_norm(k)]
    shape = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
             for k in state if k in own and state[k].shape != own[k].shape]
    if missing or unexpected or shape:
        name = type(model).__name__
        hint = ''
        if any('bn' in k or 'norm' in k for k in missing + unexpected):
            hint = (f' The model is in {"deploy" if getattr(model, "deploy", False) else "training"} form: a '
                    'checkpoint of the other form needs deploy= set to match (or tools/model_converters/'
                    'reparameterize.py); an official checkpoint needs tools/model_converters/<family>_to_'
                    'largekernel.py first.')
        raise RuntimeError(
            f'{source} does not match this {name} (wrong arch or form?). '
            f'missing keys ({len(missing)}): {missing[:8]}; unexpected keys ({len(unexpected)}): {unexpected[:8]}; '
            f'shape mismatches ({len(shape)}): {shape[:8]}.{hint}')
    skipped_norms = sorted({k.split('.')[0] for k in state if k not in own})
    absent_norms = sorted({k.split('.')[0] for k in own if k not in state})
    model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    if skipped_norms or absent_norms:
        print_log(f'{source}: out norms not in this model, ignored: {skipped_norms}; out norms not in the '
                  f'checkpoint, kept at their initial values: {absent_norms}', logger='current', level=logging.INFO)
