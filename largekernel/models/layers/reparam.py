"""Kernel algebra for structural re-parameterisation (RepLKNet §3, UniRepLKNet §3.2).

All functions work on plain tensors, so they serve every family: fold an eval-mode BatchNorm into the conv before
it, zero-pad a small kernel to a large one, and turn a dilated kernel into the equivalent dense (sparse) kernel.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import skip_init

from .lk_conv import is_igemm
from .depthwise import CPUDepthwiseConv2d
from .triton_dwconv import TritonDepthwiseConv2d
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


@torch.no_grad()
def conv_from_kernel(weight, bias=None, *, like):
    """A new convolution of ``like``'s kind and geometry (stride, padding, dilation, groups) holding the merged
    ``weight`` and ``bias`` (None: no bias), on ``weight``'s device and dtype: the last step of every
    ``reparameterize()``. An iGEMM, Triton or CPU depthwise ``like`` gives the same kind again (``layers.lk_conv``)."""
    kernel_size = tuple(weight.shape[2:])
    if is_igemm(like):
        conv = type(like)(like.in_channels, kernel_size[0], bias=bias is not None).to(weight)
    else:
        kind = type(like) if isinstance(like, (TritonDepthwiseConv2d, CPUDepthwiseConv2d)) else nn.Conv2d
        conv = skip_init(kind, like.in_channels, like.out_channels, kernel_size, stride=like.stride,
                         padding=like.padding, dilation=like.dilation, groups=like.groups, bias=bias is not None,
                         padding_mode=like.padding_mode, device=weight.device, dtype=weight.dtype)
    conv.weight.copy_(weight)
    if bias is not None:
        conv.bias.copy_(bias)
    return conv


class ConvBN(nn.Sequential):
    """``conv`` (bias-free) -> ``bn`` [-> ``nonlinear``], the official RepLKNet ``conv_bn`` / ``conv_bn_relu`` units.

    ``deploy=True`` (or ``reparameterize()``) gives the folded form: ``conv`` with a bias and ``bn`` an Identity (the
    official ``deep_fuse_BN``). ``conv`` may be given (e.g. an iGEMM depthwise conv); it must then be bias-free.
    ``fused()`` returns the equivalent kernel and bias in eval mode.
    """

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=None, dilation=1, groups=1,
                 act=None, deploy=False, norm_cfg=None, conv=None):
        super().__init__()
        if conv is None:
            if padding is None:
                padding = tuple(dilation * (k - 1) // 2 for k in _pair(kernel_size))
            conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias=deploy)
        elif conv.bias is not None:
            raise ValueError('ConvBN: a given conv must be bias-free (the BN shift replaces its bias)')
        self.deploy = deploy
        self.add_module('conv', conv)
        self.add_module('bn', nn.Identity() if deploy else build_batch_norm(out_channels, norm_cfg))
        if act is not None:
            self.add_module('nonlinear', act)

    def fused(self):
        if self.deploy:
            return self.conv.weight, self.conv.bias
        return fuse_bn(self.conv.weight, self.conv.bias, self.bn)

    @torch.no_grad()
    def reparameterize(self):
        if self.deploy:
            return
        self.conv = conv_from_kernel(*self.fused(), like=self.conv)
        self.bn = nn.Identity()
        self.deploy = True


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)
