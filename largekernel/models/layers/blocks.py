"""Stems, downsampling layers, stage builders and layer scale shared by the hierarchical families.

Every function returns plain modules with the sub-module indices of the official code, so checkpoint keys
(``downsample_layers.i.j``, ``stages.i.j``, ``gamma``) stay those of each family.
"""
import torch
from torch import nn

from .drop import drop_path_rates
from .norm import LayerNorm2d


def conv_stem(in_channels, out_channels):
    """Conv3x3/2 (C/2) -> LN -> GELU -> Conv3x3/2 (C) -> LN, stride 4 (UniRepLKNet §3.2; also ShiftwiseConv §3.9
    and UniConvNet supp. C.1)."""
    hidden = out_channels // 2
    return nn.Sequential(nn.Conv2d(in_channels, hidden, 3, 2, 1), LayerNorm2d(hidden), nn.GELU(),
                         nn.Conv2d(hidden, out_channels, 3, 2, 1), LayerNorm2d(out_channels))


def patchify_stem(in_channels, out_channels, patch_size=4):
    """ConvNeXt's patchify stem: a ``patch_size`` x ``patch_size`` conv with that stride, then LN."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, patch_size, patch_size), LayerNorm2d(out_channels))


def conv_norm_downsample(in_channels, out_channels):
    """Conv3x3/2 -> LN between stages (UniRepLKNet §3.2, ShiftwiseConv §3.9)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 2, 1), LayerNorm2d(out_channels))


def norm_conv_downsample(in_channels, out_channels, kernel_size=2):
    """LN -> Conv k x k / 2 between stages: ``kernel_size=2`` is ConvNeXt's, 3 UniConvNet's (supp. C.1)."""
    return nn.Sequential(LayerNorm2d(in_channels),
                         nn.Conv2d(in_channels, out_channels, kernel_size, 2, (kernel_size - 1) // 2))


def build_downsample_layers(stem, dims, downsample):
    """``downsample_layers`` of a hierarchical backbone: ``stem`` first, then ``downsample(dims[i - 1], dims[i])``
    before each later stage."""
    return nn.ModuleList([stem] + [downsample(dims[i - 1], dims[i]) for i in range(1, len(dims))])


def build_stages(depths, drop_path_rate, block):
    """``stages`` of a hierarchical backbone: one ``nn.Sequential`` per stage of ``block(stage, index, drop_path)``,
    with stochastic depth rising linearly from 0 to ``drop_path_rate`` over all blocks."""
    rates = drop_path_rates(drop_path_rate, depths)
    return nn.ModuleList(nn.Sequential(*(block(i, j, rates[i][j]) for j in range(depth)))
                         for i, depth in enumerate(depths))


def layer_scale(dim, init_value):
    """LayerScale (CaiT, ConvNeXt): a per-channel scale initialised to ``init_value``, or None (disabled) for
    ``init_value`` None or 0.

    A plain ``nn.Parameter`` that the block registers under its own name (``gamma``, ``gamma0``, ...), so checkpoint
    keys stay the official ones; timm's and mmpretrain's ``LayerScale`` modules would add a level (``gamma.weight``).
    """
    if init_value is None or init_value == 0:
        return None
    if init_value < 0:
        raise ValueError(f'layer scale init value must be positive, or None / 0 to disable it; got {init_value}')
    return nn.Parameter(torch.full((dim,), float(init_value)))


def scale_channels(x, scale, dim=1):
    """``x`` times a per-channel ``scale`` along ``dim`` (1: NCHW, -1: NHWC); ``x`` itself when ``scale`` is None."""
    if scale is None:
        return x
    if dim in (-1, x.dim() - 1):
        return x * scale
    return x * scale.view(-1, *([1] * (x.dim() - dim - 1)))
