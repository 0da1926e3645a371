"""A Triton depthwise convolution for large kernels, no CUDA build needed (RepLKNet §3, Guideline 1; UniRepLKNet
§3.1.1: large depthwise kernels are fast given a proper operator-level implementation).

``TritonDepthwiseConv2d`` is an ``nn.Conv2d`` with the same parameters (``weight`` of shape ``(C, 1, k_h, k_w)``,
optional ``bias``), so checkpoints are interchangeable with the native and the iGEMM convs. It supports stride 1,
dilation 1, ``groups == channels`` and 'same' padding (``k // 2`` per side) of odd ``k_h x k_w`` kernels (squares
and the strips of SLaK and ShiftWise), fp32 / fp16 / bf16 inputs (fp32 accumulation), contiguous or channels-last,
and maps of any size, smaller than the kernel included. Under autocast it computes in the autocast dtype like
``nn.Conv2d``. ONNX export, tracing, ``torch.export`` and ``torch.compile`` use the native convolution (same
parameters).

The kernels (``triton_dwconv_kernels``) are imported on first use: set ``TRITON_INTERPRET=1`` before that to run
them with Triton's interpreter on CPU tensors (slow; for tests).
"""
import importlib

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from .depthwise import check_same_depthwise

DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_KERNELS = 'largekernel.models.layers.triton_dwconv_kernels'


def triton_kernels():
    """The kernels module; an ImportError naming the fix when Triton is not importable."""
    try:
        return importlib.import_module(_KERNELS)
    except ImportError as err:
        raise ImportError(f"impl='triton' needs the 'triton' package ({err}); install the Triton build that matches "
                          "your torch (pip install triton), or use impl='native'") from err


def triton_available():
    """Whether the Triton conv can run here: Triton importable and CUDA present (the interpreter does not count)."""
    if not torch.cuda.is_available():
        return False
    try:
        triton_kernels()
    except ImportError:
        return False
    return True


def check_triton_usable():
    """Raise a clear error unless the Triton kernels can run: Triton importable, and CUDA or the interpreter."""
    kernels = triton_kernels()
    if not (kernels.INTERPRETED or torch.cuda.is_available()):
        raise RuntimeError("impl='triton' needs a CUDA device (torch.cuda.is_available() is False); use impl='native' "
                           "on CPU, or set TRITON_INTERPRET=1 before Triton is first used to run the kernels with "
                           "Triton's (slow) interpreter")
    return kernels


class _DepthwiseConv2dFunction(torch.autograd.Function):
    """Forward and both backward passes on the Triton kernels."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        kernels = triton_kernels()
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return kernels.conv_forward(x, weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        kernels = triton_kernels()
        x, weight = ctx.saved_tensors
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = kernels.conv_input_grad(grad_out, weight)
        if ctx.needs_input_grad[1]:
            grad_w = kernels.conv_weight_grad(x, grad_out, weight.shape).to(weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum((0, 2, 3), dtype=torch.float32).to(weight.dtype)
        return grad_x, grad_w, grad_b


def depthwise_conv2d(x, weight, bias=None):
    """``F.conv2d(x, weight, bias, padding=(k_h // 2, k_w // 2), groups=C)`` on the Triton kernels, for an
    ``(N, C, H, W)`` ``x`` and a ``(C, 1, k_h, k_w)`` ``weight`` with odd sides; differentiable in all three."""
    if x.dim() != 4:
        raise ValueError(f'triton depthwise conv: expected a 4-D (N, C, H, W) input, got shape {tuple(x.shape)}')
    channels = x.shape[1]
    if weight.dim() != 4 or weight.shape[:2] != (channels, 1) or not all(k % 2 for k in weight.shape[2:]):
        raise ValueError(f'triton depthwise conv: weight of shape {tuple(weight.shape)} does not fit a depthwise '
                         f'conv of {channels} channels; expected ({channels}, 1, k_h, k_w) with odd k_h, k_w')
    if bias is not None and bias.shape != (channels,):
        raise ValueError(f'triton depthwise conv: bias of shape {tuple(bias.shape)}; expected ({channels},)')
    if x.dtype not in DTYPES:
        raise TypeError(f'triton depthwise conv: unsupported dtype {x.dtype}; supported: fp32, fp16, bf16 '
                        f"(use impl='native' for {x.dtype})")
    others = [t.dtype for t in (weight, bias) if t is not None and t.dtype != x.dtype]
    if others:
        raise TypeError(f'triton depthwise conv: input is {x.dtype} but weight/bias are {others}; cast them to one '
                        'dtype (or run under autocast)')
    if not (x.is_cuda or check_triton_usable().INTERPRETED):
        raise RuntimeError(f'triton depthwise conv: input on {x.device}; the Triton kernels run on CUDA tensors (or '
                           "under TRITON_INTERPRET=1). Move the model to CUDA or build it with impl='native'")
    devices = {t.device for t in (x, weight, bias) if t is not None}
    if len(devices) > 1:
        raise RuntimeError(f'triton depthwise conv: input, weight and bias are on different devices {devices}')
    return _DepthwiseConv2dFunction.apply(x, weight, bias)


class TritonDepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d(C, C, (k_h, k_w), padding=(k_h // 2, k_w // 2), groups=C)`` running on the Triton kernels.

    Same signature and parameters as ``nn.Conv2d``; anything but a stride-1, undilated, zero-padded 'same'
    depthwise conv with odd kernel sides is refused.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding='same', dilation=1, groups=1,
                 bias=True, padding_mode='zeros', device=None, dtype=None):
        kernel_size, padding, _ = check_same_depthwise(
            type(self).__name__, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
            padding_mode, allow_dilation=False)
        super().__init__(in_channels, out_channels, kernel_size, stride=1, padding=padding, dilation=1, groups=groups,
                         bias=bias, padding_mode='zeros', device=device, dtype=dtype)

    def forward(self, x):
        if torch.onnx.is_in_onnx_export() or torch.jit.is_tracing() or torch.compiler.is_compiling():
            return super().forward(x)
        weight, bias = self.weight, self.bias
        if torch.is_autocast_enabled(x.device.type):
            dtype = torch.get_autocast_dtype(x.device.type)
            x, weight = x.to(dtype), weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
        if x.dim() == 3:  # unbatched (C, H, W), as nn.Conv2d accepts
            return depthwise_conv2d(x.unsqueeze(0), weight, bias).squeeze(0)
        return depthwise_conv2d(x, weight, bias)
