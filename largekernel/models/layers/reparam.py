"""Kernel algebra for structural re-parameterisation (RepLKNet §3, UniRepLKNet §3.2).

All functions work on plain tensors, so they serve every family: fold an eval-mode BatchNorm into the conv before
it, zero-pad a small kernel to a large one, and turn a dilated kernel into the equivalent dense (sparse) kernel.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .norm import build_batch_norm


def fuse_bn(weight, bias, bn):
    """Fold eval-mode ``bn`` into a conv/linear ``weight`` (out-channels first) and optional ``bias``.

    Returns ``(w', b')`` with ``w'_o = w_o * t_o`` and ``b'_o = beta_o + (b_o - mu_o) * t_o`` where
    ``t = gamma / sqrt(var + eps)``.
    """
    std = (bn.running_var + bn.eps).sqrt()
    t = bn.weight / std
    if bias is None:
        bias = torch.zeros_like(bn.running_mean)
    fused_weight = weight * t.reshape(-1, *([1] * (weight.dim() - 1)))
    return fused_weight, bn.bias + (bias - bn.running_mean) * t


def pad_kernel(kernel, size):
    """Zero-pad a centred ``k_h x k_w`` kernel to ``size`` (an int or ``(H, W)``); sizes must differ by even numbers."""
    target_h, target_w = (size, size) if isinstance(size, int) else size
    pad_h, pad_w = target_h - kernel.shape[-2], target_w - kernel.shape[-1]
    if pad_h < 0 or pad_w < 0 or pad_h % 2 or pad_w % 2:
        raise ValueError(f'cannot centre a {tuple(kernel.shape[-2:])} kernel inside {(target_h, target_w)}')
    return F.pad(kernel, [pad_w // 2, pad_w // 2, pad_h // 2, pad_h // 2])


def dilated_to_dense(kernel, dilation):
    """The non-dilated kernel equal to ``kernel`` applied with ``dilation`` (UniRepLKNet Eq. 1).

    A ``k x k`` kernel with dilation ``r`` becomes a ``r(k-1)+1`` square kernel holding the original entries at
    multiples of ``r`` and zeros elsewhere.
    """
    if dilation == 1:
        return kernel
    k_h, k_w = kernel.shape[-2:]
    dense = kernel.new_zeros(*kernel.shape[:-2], dilation * (k_h - 1) + 1, dilation * (k_w - 1) + 1)
    dense[..., ::dilation, ::dilation] = kernel
    return dense


@torch.no_grad()
def fold_linear_bn(linear, bn, scale=None, input_bias=None):
    """One biased ``nn.Linear`` equal, in eval mode, to ``scale * BN(linear(z + input_bias))``.

    UniRepLKNet §3.3 (and SW-v2): GRN's bias, the BN after the second FFN linear and the layer scale all fold into
    that linear. ``bn`` normalises the linear's output features.
    """
    weight = linear.weight
    bias = linear.bias
    if input_bias is not None:
        shift = weight @ input_bias
        bias = shift if bias is None else bias + shift
    weight, bias = fuse_bn(weight, bias, bn)
    if scale is not None:
        weight, bias = weight * scale[:, None], bias * scale
    folded = nn.Linear(weight.shape[1], weight.shape[0]).to(weight)
    folded.weight.copy_(weight)
    folded.bias.copy_(bias)
    return folded


class ConvBN(nn.Sequential):
    """A bias-free convolution followed by BatchNorm, with sub-module names ``conv`` and ``bn``.

    ``fused()`` returns the equivalent kernel and bias in eval mode.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=None, dilation=1, groups=1,
                 norm_cfg=None):
        if padding is None:
            padding = tuple(dilation * (k - 1) // 2 for k in _pair(kernel_size))
        super().__init__()
        self.add_module('conv', nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                                          bias=False))
        self.add_module('bn', build_batch_norm(out_channels, norm_cfg))

    def fused(self):
        return fuse_bn(self.conv.weight, None, self.bn)


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)
