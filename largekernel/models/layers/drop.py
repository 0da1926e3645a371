"""Stochastic depth (Huang et al., 2016): drop whole residual branches per sample.

``DropPath`` is timm's: the same per-sample Bernoulli mask and ``1 / keep`` rescaling as the official code of
every family (mmcv's draws its mask with ``floor(keep + rand)``, so its masks differ for the same seed).
"""
from timm.layers import DropPath

__all__ = ['DropPath', 'drop_path_rates']


def drop_path_rates(drop_path_rate, depths):
    """One rate per block, rising linearly from 0 to ``drop_path_rate`` over all blocks; split per stage."""
    total = sum(depths)
    rates = [drop_path_rate * i / (total - 1) if total > 1 else 0.0 for i in range(total)]
    out, start = [], 0
    for depth in depths:
        out.append(rates[start:start + depth])
        start += depth
    return out
