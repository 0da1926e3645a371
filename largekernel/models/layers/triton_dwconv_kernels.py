"""Triton kernels of the stride-1, 'same'-padded depthwise convolution (imported lazily by ``triton_dwconv``).

One program per (sample, channel, output tile); it loops over the kernel taps with masked loads, so any feature
map size works, maps smaller than the kernel included (taps that fall outside read zeros). Inputs may be fp32,
fp16 or bf16 in any memory layout (strides are passed); every product is accumulated in fp32.

- forward: ``y[n, c] = b[c] + sum_{i, j} w[c, i, j] x[n, c, h + i - p_h, w + j - p_w]``;
- input gradient: the same kernel applied to ``dy`` with the flipped weight (a 'same' correlation with an odd
  kernel is its own transpose up to the flip);
- weight gradient: each program writes one fp32 partial sum per tap for its tile, ``sum dy * x_shifted``; the
  partials are then summed over samples and tiles in fp32.

Triton's interpreter (``TRITON_INTERPRET=1``, set before this module is imported) runs the same kernels on CPU
tensors; that is how the tests check them without a GPU.
"""
import os

import torch
import triton
import triton.language as tl

# whether the kernels below are decorated for the interpreter (older Triton releases have no knobs)
INTERPRETED = (bool(triton.knobs.runtime.interpret) if hasattr(triton, 'knobs') else
               os.environ.get('TRITON_INTERPRET', '0').lower() in ('1', 'true', 'on', 'yes'))
MAX_BLOCK_H, MAX_BLOCK_W = 16, 32  # output tile (powers of two), clipped to the map size


@triton.jit
def _dwconv_fwd_kernel(x_ptr, w_ptr, b_ptr, y_ptr, C, H, W, KH, KW, PH, PW,
                       sxn, sxc, sxh, sxw, syn, syc, syh, syw,
                       HAS_BIAS: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    pid_nc = tl.program_id(0)
    n = (pid_nc // C).to(tl.int64)
    c = (pid_nc % C).to(tl.int64)
    oh = tl.program_id(1) * BLOCK_H + tl.arange(0, BLOCK_H)[:, None]
    ow = tl.program_id(2) * BLOCK_W + tl.arange(0, BLOCK_W)[None, :]
    x_base = x_ptr + n * sxn + c * sxc
    w_base = w_ptr + c * KH * KW
    acc = tl.zeros((BLOCK_H, BLOCK_W), dtype=tl.float32)
    for i in range(KH):
        ih = oh + i - PH
        row_ok = (ih >= 0) & (ih < H)
        for j in range(KW):
            iw = ow + j - PW
            ok = row_ok & (iw >= 0) & (iw < W)
            xv = tl.load(x_base + ih * sxh + iw * sxw, mask=ok, other=0.0).to(tl.float32)
            acc += xv * tl.load(w_base + i * KW + j).to(tl.float32)
    if HAS_BIAS:
        acc += tl.load(b_ptr + c).to(tl.float32)
    out_ok = (oh < H) & (ow < W)
    tl.store(y_ptr + n * syn + c * syc + oh * syh + ow * syw, acc.to(y_ptr.dtype.element_ty), mask=out_ok)


@triton.jit
def _dwconv_wgrad_kernel(x_ptr, dy_ptr, part_ptr, C, H, W, KH, KW, PH, PW,
                         sxn, sxc, sxh, sxw, sdn, sdc, sdh, sdw,
                         BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr):
    pid_nc = tl.program_id(0)
    n = (pid_nc // C).to(tl.int64)
    c = (pid_nc % C).to(tl.int64)
    oh = tl.program_id(1) * BLOCK_H + tl.arange(0, BLOCK_H)[:, None]
    ow = tl.program_id(2) * BLOCK_W + tl.arange(0, BLOCK_W)[None, :]
    out_ok = (oh < H) & (ow < W)
    dy = tl.load(dy_ptr + n * sdn + c * sdc + oh * sdh + ow * sdw, mask=out_ok, other=0.0).to(tl.float32)
    x_base = x_ptr + n * sxn + c * sxc
    tile = (tl.program_id(1) * tl.num_programs(2) + tl.program_id(2)).to(tl.int64)
    part_base = part_ptr + ((n * tl.num_programs(1) * tl.num_programs(2) + tile) * C + c) * KH * KW
    for i in range(KH):
        ih = oh + i - PH
        row_ok = (ih >= 0) & (ih < H)
        for j in range(KW):
            iw = ow + j - PW
            ok = row_ok & (iw >= 0) & (iw < W)
            xv = tl.load(x_base + ih * sxh + iw * sxw, mask=ok, other=0.0).to(tl.float32)
            tl.store(part_base + i * KW + j, tl.sum(xv * dy))


def _grid_and_blocks(x):
    n, c, h, w = x.shape
    block_h = min(triton.next_power_of_2(h), MAX_BLOCK_H)
    block_w = min(triton.next_power_of_2(w), MAX_BLOCK_W)
    return (n * c, triton.cdiv(h, block_h), triton.cdiv(w, block_w)), block_h, block_w


def conv_forward(x, weight, bias=None):
    """``y = conv(x, weight) + bias`` ('same' padding); ``y`` has ``x``'s dtype and memory format."""
    _, c, h, w = x.shape
    k_h, k_w = weight.shape[-2:]
    y = torch.empty_like(x)
    if y.numel() == 0:
        return y
    grid, block_h, block_w = _grid_and_blocks(x)
    weight = weight.contiguous()
    _dwconv_fwd_kernel[grid](x, weight, weight if bias is None else bias, y, c, h, w, k_h, k_w, k_h // 2, k_w // 2,
                             *x.stride(), *y.stride(), HAS_BIAS=bias is not None, BLOCK_H=block_h, BLOCK_W=block_w)
    return y


def conv_input_grad(grad_out, weight):
    """``dL/dx``: the 'same' convolution of ``grad_out`` with the flipped kernel."""
    return conv_forward(grad_out, weight.flip((-2, -1)))


def conv_weight_grad(x, grad_out, weight_shape):
    """``dL/dw`` (fp32, shape ``weight_shape``): per channel, the sum over samples and positions of
    ``grad_out * x`` shifted by each tap."""
    _, c, h, w = x.shape
    k_h, k_w = weight_shape[-2:]
    if x.numel() == 0:
        return x.new_zeros(weight_shape, dtype=torch.float32)
    grid, block_h, block_w = _grid_and_blocks(x)
    partials = torch.empty(x.shape[0] * grid[1] * grid[2], c, k_h * k_w, device=x.device, dtype=torch.float32)
    _dwconv_wgrad_kernel[grid](x, grad_out, partials, c, h, w, k_h, k_w, k_h // 2, k_w // 2,
                               *x.stride(), *grad_out.stride(), BLOCK_H=block_h, BLOCK_W=block_w)
    return partials.sum(0).view(weight_shape)
