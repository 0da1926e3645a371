"""Depthwise large-kernel convolution dispatch (RepLKNet §3 "iGEMM"; UniRepLKNet §3.9).

The official repositories speed up square depthwise kernels with MegEngine's implicit-GEMM CUDA extension
(``depthwise_conv2d_implicit_gemm``), a ``nn.Conv2d`` subclass with identical parameter names. We use it only when
asked for or, with ``impl='auto'``, when it is importable and CUDA is present; otherwise ``nn.Conv2d`` (cuDNN or
the CPU kernels). Checkpoints are interchangeable between the two.
"""
import importlib

import torch
from torch import nn

IMPLS = ('auto', 'native', 'igemm')


def _igemm_class():
    try:
        return importlib.import_module('depthwise_conv2d_implicit_gemm').DepthWiseConv2dImplicitGEMM
    except ImportError:
        return None


def is_igemm(conv):
    """Whether ``conv`` is the iGEMM extension's depthwise conv (rebuilt as such by ``conv_from_kernel``)."""
    igemm = _igemm_class()
    return igemm is not None and isinstance(conv, igemm)


def build_depthwise_conv(channels, kernel_size, bias=False, impl='auto', padding=None):
    """A stride-1, 'same'-padded depthwise convolution of ``kernel_size`` (int or ``(k_h, k_w)``)."""
    if impl not in IMPLS:
        raise ValueError(f'unknown large-kernel conv impl {impl!r}; valid: {IMPLS}')
    k_h, k_w = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    if padding is None:
        padding = (k_h // 2, k_w // 2)
    square_same = k_h == k_w and k_h > 5 and tuple(padding) == (k_h // 2, k_w // 2)
    if impl != 'native' and square_same:
        igemm = _igemm_class()
        if igemm is not None and (impl == 'igemm' or torch.cuda.is_available()):
            return igemm(channels, k_h, bias=bias)
        if impl == 'igemm':
            raise ImportError("impl='igemm' needs the 'depthwise_conv2d_implicit_gemm' CUDA extension "
                              "(see README, 'Large-kernel convolution'); use impl='auto' or 'native'")
    return nn.Conv2d(channels, channels, (k_h, k_w), padding=padding, groups=channels, bias=bias)
