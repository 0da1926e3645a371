"""Checkpoint converters: official key layouts -> largekernel layouts (one module per family, on a shared core).

Each family module has ``convert(checkpoint, ema=False, deploy=False, arch=None, ...) -> (state_dict, summary)`` and
a ``convert_<family>`` function returning the state dict only; the CLI is ``tools/model_converters/convert.py``.
"""
from . import replknet, shiftwise, slak, uniconvnet, unireplknet
from .core import CheckpointMismatchError, unwrap

FAMILIES = dict(replknet=replknet, unireplknet=unireplknet, slak=slak, shiftwise=shiftwise, uniconvnet=uniconvnet)

__all__ = ['FAMILIES', 'CheckpointMismatchError', 'unwrap']
