"""Depthwise large-kernel convolution dispatch (RepLKNet §3 "iGEMM"; UniRepLKNet §3.9).

Five implementations of one stride-1, 'same'-padded depthwise conv, all ``nn.Conv2d`` (subclasses) with the same
parameter names and shapes, so checkpoints are interchangeable:

- ``'native'``: ``nn.Conv2d`` (cuDNN or the CPU kernels);
- ``'cpu'``: ``CPUDepthwiseConv2d`` (``layers.depthwise``): ``nn.Conv2d``'s forward, and on CPU a backward that
  computes both gradients as depthwise forward convolutions (oneDNN's own depthwise backward is several times
  slower for kernels of 5 x 5 and up and for dilated ones); on CUDA it is ``nn.Conv2d``;
- ``'igemm'``: MegEngine's implicit-GEMM CUDA extension ``depthwise_conv2d_implicit_gemm`` the official
  repositories use (square, undilated kernels larger than 5; needs a CUDA build);
- ``'triton'``: ``TritonDepthwiseConv2d`` (``layers.triton_dwconv``), odd square or strip kernels, undilated; needs
  CUDA and Triton, no build step (or ``TRITON_INTERPRET=1`` to run it on CPU, slowly);
- ``'auto'``: with CUDA, the iGEMM extension for square kernels larger than 5 x 5 when it is installed (the
  official kernel: whoever built it asked for it), otherwise ``nn.Conv2d``; without CUDA, ``'cpu'`` for kernels of
  5 x 5 and up or dilated ones (where it measured faster: ``tools/analysis_tools/benchmark_dwconv.py --device cpu``)
  and ``nn.Conv2d`` for undilated 3 x 3. ``'auto'`` does not pick Triton yet: its compiled kernels have not been run
  or timed on a GPU (only under the interpreter), so it stays opt-in until ``tools/analysis_tools/gpu_report.sh``
  has shown it correct and faster than cuDNN.

``log_conv_impls`` reports which implementation a backbone's large depthwise convs use.
"""
import importlib
from collections import Counter

import torch
from mmengine.logging import print_log
from torch import nn

from .depthwise import CPUDepthwiseConv2d
from .triton_dwconv import TritonDepthwiseConv2d, check_triton_usable

IMPLS = ('auto', 'native', 'cpu', 'igemm', 'triton')
LARGE = 5  # 'auto' picks a fast implementation for kernels larger than this; the log counts convs above it


def _igemm_class():
    try:
        return importlib.import_module('depthwise_conv2d_implicit_gemm').DepthWiseConv2dImplicitGEMM
    except ImportError:
        return None


def is_igemm(conv):
    """Whether ``conv`` is the iGEMM extension's depthwise conv (rebuilt as such by ``conv_from_kernel``)."""
    igemm = _igemm_class()
    return igemm is not None and isinstance(conv, igemm)


def conv_impl(conv):
    """``'igemm'``, ``'triton'``, ``'cpu'`` or ``'native'``: the implementation a conv module runs."""
    if is_igemm(conv):
        return 'igemm'
    if isinstance(conv, TritonDepthwiseConv2d):
        return 'triton'
    return 'cpu' if isinstance(conv, CPUDepthwiseConv2d) else 'native'


def build_depthwise_conv(channels, kernel_size, bias=False, impl='auto', padding=None, dilation=1):
    """A stride-1, 'same'-padded depthwise convolution of ``kernel_size`` (int or ``(k_h, k_w)``) and ``dilation``
    (an int) on implementation ``impl`` (see the module docstring)."""
    if impl not in IMPLS:
        raise ValueError(f'unknown large-kernel conv impl {impl!r}; valid: {IMPLS}')
    k_h, k_w = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    if padding is None:
        padding = (dilation * (k_h // 2), dilation * (k_w // 2))
    same = tuple(padding) == (dilation * (k_h // 2), dilation * (k_w // 2)) and k_h % 2 == 1 and k_w % 2 == 1
    if impl in ('igemm', 'triton') and dilation != 1:
        raise ValueError(f"impl={impl!r} supports undilated kernels only; got dilation={dilation}; use impl='cpu' "
                         "or 'native' (or 'auto') for dilated convs")
    if impl in ('auto', 'igemm') and k_h == k_w and k_h > LARGE and same and dilation == 1:
        igemm = _igemm_class()
        if igemm is not None and (impl == 'igemm' or torch.cuda.is_available()):
            return igemm(channels, k_h, bias=bias)
        if impl == 'igemm':
            raise ImportError("impl='igemm' needs the 'depthwise_conv2d_implicit_gemm' CUDA extension "
                              "(see README, 'Large-kernel convolution'); use impl='auto', 'triton' or 'native'")
    if impl in ('triton', 'cpu') and not same:
        raise ValueError(f"impl={impl!r} supports odd kernel sides with 'same' padding (dilation * (k // 2) per "
                         f"side); got kernel_size={(k_h, k_w)}, padding={tuple(padding)}, dilation={dilation}; use "
                         "impl='native'")
    if impl == 'auto':
        impl = 'cpu' if same and not torch.cuda.is_available() and (max(k_h, k_w) >= 5 or dilation > 1) else 'native'
    if impl == 'triton':
        check_triton_usable()
        return TritonDepthwiseConv2d(channels, channels, (k_h, k_w), padding=padding, groups=channels, bias=bias)
    kind = CPUDepthwiseConv2d if impl == 'cpu' else nn.Conv2d
    return kind(channels, channels, (k_h, k_w), padding=padding, dilation=dilation, groups=channels, bias=bias)


def branch_impl(impl):
    """The implementation for a re-parameterisation block's small or dilated branches when its large kernel uses
    ``impl``: the same for ``'native'`` / ``'cpu'``; ``'auto'`` for iGEMM and Triton (undilated large kernels only)."""
    return impl if impl in ('native', 'cpu') else 'auto'


_LOGGED = set()


def log_conv_impls(module, name=None):
    """Log (mmengine ``print_log``, current logger) how many undilated depthwise convs larger than 5 x 5 in
    ``module`` run on each implementation, e.g. ``RepLKNet: depthwise convs larger than 5x5: 24 triton`` (modules
    plus the ``functional_conv_impls`` that submodules declare); each distinct line once per process (tools that
    build many models do not repeat it)."""
    counts = Counter(conv_impl(m) for m in module.modules()
                     if isinstance(m, nn.Conv2d) and m.groups == m.in_channels == m.out_channels > 1
                     and max(m.kernel_size) > LARGE and m.dilation == (1, 1))
    for m in module.modules():  # modules that run such convs as functions declare them (the ShiftWise operator)
        counts.update(getattr(m, 'functional_conv_impls', {}))
    summary = ', '.join(f'{n} {impl}' for impl, n in sorted(counts.items())) or 'none as modules'
    message = f'{name or type(module).__name__}: depthwise convs larger than {LARGE}x{LARGE}: {summary}'
    if message not in _LOGGED:
        _LOGGED.add(message)
        print_log(message, logger='current')
