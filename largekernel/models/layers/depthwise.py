"""A depthwise convolution whose CPU backward runs as two depthwise forward convolutions.

oneDNN's depthwise backward on CPU is 4-40x slower than its forward for kernels of 5 x 5 and up or dilated ones
(a UniRepLKNet-T training step spent a third of its time there; ``tools/analysis_tools/benchmark_dwconv.py
--device cpu`` measures it). For a stride-1 'same' depthwise conv both gradients are themselves depthwise
convolutions:

- input gradient: the output gradient convolved with the kernel flipped in both axes (same padding and dilation);
- weight gradient: each (sample, channel) input plane convolved with its own output-gradient plane as the kernel
  (a depthwise conv over ``N * C`` groups, stride = the dilation), summed over the samples.

Both run at forward speed; on CPU that is 1.5-20x faster than oneDNN's backward for kernels of 5 x 5 and up and for
dilated 3 x 3 kernels on maps up to 28 x 28, and slower for undilated 3 x 3 ones, which ``impl='auto'`` therefore
leaves to ``nn.Conv2d`` (``layers.lk_conv``).

``CPUDepthwiseConv2d`` is an ``nn.Conv2d`` (same parameters, so checkpoints do not change) that takes this path for
CPU tensors that need gradients. Its forward (``same_depthwise_conv``, which CPU inference paths also call directly)
avoids oneDNN's slow layout cases (NCHW input to kernels wider than 13, 11- and 13-wide kernels on channels-last
input) and drops the kernel taps that only ever meet the zero padding of a map smaller than the kernel
(``crop_to_map``). Outputs and gradients equal ``nn.Conv2d``'s up to float rounding (the sums run in another
order). CUDA tensors, tracing, scripting, ONNX export and ``torch.compile`` run ``nn.Conv2d``'s own forward and
backward (so FLOP counters, exporters and compilers see a plain convolution; the layout-dependent paths would not
survive inductor's stride propagation).
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def check_same_depthwise(cls_name, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         padding_mode, allow_dilation):
    """The ``(kernel_size, padding, dilation)`` pairs of a stride-1, zero-padded 'same' depthwise conv with odd
    kernel sides; a ValueError naming every other value (and what would be valid) otherwise."""
    k_h, k_w = _pair(kernel_size)
    dilations = _pair(dilation)
    same = (dilations[0] * (k_h // 2), dilations[1] * (k_w // 2))
    padding = same if padding == 'same' else _pair(padding)
    bad = {name: value for name, value, good in (
        ('kernel_size', (k_h, k_w), k_h % 2 == 1 and k_w % 2 == 1),
        ('out_channels', out_channels, out_channels == in_channels),
        ('groups', groups, groups == in_channels),
        ('stride', stride, _pair(stride) == (1, 1)),
        ('dilation', dilation, allow_dilation or dilations == (1, 1)),
        ('padding', padding, padding == same),
        ('padding_mode', padding_mode, padding_mode == 'zeros'),
    ) if not good}
    if bad:
        dilations = 'any dilation' if allow_dilation else 'dilation 1'
        raise ValueError(f'{cls_name} supports odd kernel sides, out_channels == groups == in_channels, stride 1, '
                         f'{dilations} and zero "same" padding (dilation * (k // 2) per side, here {same}); got '
                         f"{bad}. Use nn.Conv2d (impl='native') for other convolutions")
    return (k_h, k_w), same, dilations


_MAX_STRIDE = 3
# oneDNN (torch 2.13) layout cases, measured by ``tools/analysis_tools/benchmark_dwconv.py --device cpu
# [--channels-last]``: NCHW kernels wider than 13 run on a reference path (20-50x slower than channels-last), so
# such inputs are converted to channels-last (the output stays channels-last, as the next layer accepts); and
# channels-last kernels 13 (11) wide run 2-3x (1.1-1.2x) slower than 15-wide ones, so those are zero-padded to 15
# (exact: the extra taps are zeros).
_NCHW_MAX_WIDTH = 13
_PAD_WIDTH = {11: 15, 13: 15}
# oneDNN's convolution with a fused in-place sum (the op inductor's CPU fusion emits), where this build has it
_FUSED_ADD = getattr(torch.ops.mkldnn, '_convolution_pointwise_', None)
_FUSED_ADD_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def crop_to_map(weight, padding, dilation, size):
    """``(weight, padding)`` of a 'same' conv without the taps that lie a map side or more from the centre: on a
    map of ``size`` those only ever meet the zero padding (exact; e.g. a 31 x 31 kernel on a 7 x 7 map is 13 x 13)."""
    half = [k // 2 for k in weight.shape[-2:]]
    keep = [min(h, (s - 1) // d) for h, s, d in zip(half, size, dilation)]
    if keep == half:
        return weight, padding
    weight = weight[..., half[0] - keep[0]:half[0] + keep[0] + 1, half[1] - keep[1]:half[1] + keep[1] + 1]
    return weight, tuple(p - d * (h - k) for p, d, h, k in zip(padding, dilation, half, keep))


def same_depthwise_conv(x, weight, bias, padding, dilation=(1, 1), add_to=None):
    """``F.conv2d`` of a stride-1 'same' depthwise conv (one filter per channel of ``x``) on oneDNN's fast path for
    ``x``'s memory format (see above), the kernel cropped to the map (``crop_to_map``); CPU inference paths without
    autograd call it directly. ``add_to`` (inference only): a tensor of the output's shape and memory format that
    the result is added to in place, in the conv's own pass for float32/bfloat16/float16 CPU tensors (oneDNN's
    fused sum; one output buffer less, the same sums up to rounding)."""
    weight, padding = crop_to_map(weight, padding, dilation, x.shape[-2:])
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    if not channels_last and weight.shape[-1] > _NCHW_MAX_WIDTH:
        x, channels_last = x.contiguous(memory_format=torch.channels_last), True
    width = _PAD_WIDTH.get(weight.shape[-1])
    if width and dilation[1] == 1 and channels_last:
        extra = (width - weight.shape[-1]) // 2
        weight = F.pad(weight, [extra, extra])
        padding = (padding[0], padding[1] + extra)
    if add_to is None:
        return F.conv2d(x, weight, bias, 1, padding, dilation, x.shape[1])
    layout = torch.channels_last if channels_last else torch.contiguous_format
    if (_FUSED_ADD is not None and x.device.type == 'cpu' and x.dtype in _FUSED_ADD_DTYPES
            and weight.dtype == x.dtype == add_to.dtype and add_to.is_contiguous(memory_format=layout)
            and torch.backends.mkldnn.is_available()):
        return _FUSED_ADD.binary(add_to, x, weight.contiguous(), bias, list(padding), [1, 1], list(dilation),
                                 x.shape[1], 'add', 1.0, None, [], None)
    return add_to.add_(F.conv2d(x, weight, bias, 1, padding, dilation, x.shape[1]))


class _CPUDepthwiseConv2dFunction(torch.autograd.Function):
    """``F.conv2d`` forward; both gradients as depthwise forward convolutions (see the module docstring)."""

    @staticmethod
    def forward(ctx, x, weight, bias, padding, dilation):
        ctx.save_for_backward(x, weight)
        ctx.geometry = padding, dilation
        ctx.has_bias = bias is not None
        return same_depthwise_conv(x, weight, bias, padding, dilation)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        padding, dilation = ctx.geometry
        n, c, h, w = x.shape
        acc = torch.promote_types(weight.dtype, torch.float32)  # sums over samples in at least float32
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = same_depthwise_conv(grad_out, weight.flip((2, 3)), None, padding, dilation)
        if ctx.needs_input_grad[1]:
            # stride = dilation picks the dilated taps; oneDNN is slow for strides above 3, so those take every
            # offset at stride 1 and keep each dilation-th. Taps cropped by ``crop_to_map`` get zero gradients.
            cropped, crop_padding = crop_to_map(weight, padding, dilation, (h, w))
            stride = tuple(d if d <= _MAX_STRIDE else 1 for d in dilation)
            planes = x.reshape(1, n * c, h, w)
            if cropped.shape[-1] > _NCHW_MAX_WIDTH:  # outputs wider than 13: the reference path again in NCHW
                planes = planes.contiguous(memory_format=torch.channels_last)
            planes = F.conv2d(planes, grad_out.reshape(n * c, 1, h, w), None, stride, crop_padding, 1, n * c)
            step = tuple(d // s for d, s in zip(dilation, stride))
            if step != (1, 1):
                planes = planes[..., ::step[0], ::step[1]]
            grad_w = planes.reshape(n, c, 1, *cropped.shape[2:]).sum(0, dtype=acc).to(weight.dtype)
            extra = [(k - kc) // 2 for k, kc in zip(weight.shape[2:], cropped.shape[2:])]
            grad_w = F.pad(grad_w, [extra[1], extra[1], extra[0], extra[0]])
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum((0, 2, 3), dtype=acc).to(weight.dtype)
        return grad_x, grad_w, grad_b, None, None


def cpu_depthwise_conv2d(x, weight, bias, padding, dilation=(1, 1)):
    """``F.conv2d(x, weight, bias, 1, padding, dilation, groups=C)`` of a 'same' depthwise conv, on the fast CPU
    paths of the module docstring for 4-D CPU tensors (``CPUDepthwiseConv2d``'s forward, for weights computed from
    other parameters); ``F.conv2d`` itself on other devices and when traced, exported or compiled."""
    if (x.device.type != 'cpu' or x.dim() != 4 or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or torch.compiler.is_compiling()):
        return F.conv2d(x, weight, bias, 1, padding, dilation, weight.shape[0])
    if not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)):
        return same_depthwise_conv(x, weight, bias, padding, dilation)
    if torch.is_autocast_enabled('cpu'):  # the backward convs then see one dtype, as nn.Conv2d's would
        dtype = torch.get_autocast_dtype('cpu')
        x, weight = x.to(dtype), weight.to(dtype)
        bias = None if bias is None else bias.to(dtype)
    return _CPUDepthwiseConv2dFunction.apply(x, weight, bias, tuple(padding), tuple(dilation))


class CPUDepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d(C, C, k, padding=dilation * (k // 2), dilation=dilation, groups=C)`` with the fast CPU paths of
    the module docstring; any other geometry is refused (odd kernel sides, stride 1, zero 'same' padding)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding='same', dilation=1, groups=1,
                 bias=True, padding_mode='zeros', device=None, dtype=None):
        kernel_size, padding, dilation = check_same_depthwise(
            type(self).__name__, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
            padding_mode, allow_dilation=True)
        super().__init__(in_channels, out_channels, kernel_size, stride=1, padding=padding, dilation=dilation,
                         groups=groups, bias=bias, padding_mode='zeros', device=device, dtype=dtype)

    def forward(self, x):
        if torch.jit.is_scripting():
            return super().forward(x)
        return cpu_depthwise_conv2d(x, self.weight, self.bias, self.padding, self.dilation)
