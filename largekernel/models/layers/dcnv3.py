"""Deformable convolution v3 (InternImage, Wang et al., CVPR 2023) in pure PyTorch, in the modified form of
UniConvNet (supp. C.2).

Sampling (the "core", one shared offset/mask set per channel group; K x K points, P = K * K): for output pixel
(i, j), group g and every channel c of g,

    out[i, j, c] = sum_k mask[i, j, g, k] * bilinear(value[:, :, c], y, x),
    y = i - pad + ky * dilation + offset_scale * dy[i, j, g, k],  x = j - pad + kx * dilation + offset_scale * dx,

with zeros outside the image (pixel units, stride 1). Layouts match the official DCNv3 op, so official weights work
unchanged: point order ``k = kx * K + ky`` (x-major), offsets per pixel ``[group][point][(dx, dy)]``, mask per pixel
``[group][point]``, channels of group g contiguous (``g * C/G ... (g + 1) * C/G - 1``).

Two implementations of the core, equal up to float rounding (tests/test_uniconvnet.py):
- ``'grid_sample'`` (default): ``F.grid_sample`` on the (N*G, C/G, H, W) value; works on CPU, CUDA and meta.
  It materialises the (C, H, W, P) samples, i.e. ~P x the activation memory.
- ``'torchvision'``: ``torchvision.ops.deform_conv2d`` as a depth-wise modulated deformable conv with unit weights
  (offset groups = G); native CPU/CUDA kernels without the P x intermediate tensor (lower memory), slower than
  ``'grid_sample'`` on CPU.
"""
import torch
import torch.nn.functional as F
from torch import nn

DCN_IMPLS = ('grid_sample', 'torchvision')


def _check_core_inputs(value, offset, mask, groups, kernel_size, pad, dilation):
    n, h, w, c = value.shape
    points = kernel_size * kernel_size
    if c % groups:
        raise ValueError(f'DCNv3: {c} channels do not split into {groups} groups')
    out_h, out_w = h + 2 * pad - dilation * (kernel_size - 1), w + 2 * pad - dilation * (kernel_size - 1)
    if offset.shape != (n, out_h, out_w, groups * points * 2) or mask.shape != (n, out_h, out_w, groups * points):
        raise ValueError(f'DCNv3: offset {tuple(offset.shape)} / mask {tuple(mask.shape)} do not fit value '
                         f'{tuple(value.shape)} (expected (N, {out_h}, {out_w}, {groups * points * 2}) and '
                         f'(N, {out_h}, {out_w}, {groups * points}))')
    return n, h, w, c, out_h, out_w, points


def dcnv3_grid_sample(value, offset, mask, groups, kernel_size=3, pad=1, dilation=1, offset_scale=1.0):
    """DCNv3 sampling with ``F.grid_sample``; ``value`` (N, H, W, C), offset/mask as in the module docstring;
    returns (N, H_out, W_out, C) with ``H_out = H + 2 * pad - dilation * (kernel_size - 1)``."""
    n, h, w, c, out_h, out_w, points = _check_core_inputs(value, offset, mask, groups, kernel_size, pad, dilation)
    dt, dev = torch.promote_types(offset.dtype, torch.float32), offset.device  # coordinates never in half precision
    taps = torch.arange(kernel_size, dtype=dt, device=dev) * dilation
    kx, ky = (t.reshape(-1) for t in torch.meshgrid(taps, taps, indexing='ij'))  # k = kx_index * K + ky_index
    off = offset.reshape(n, out_h, out_w, groups, points, 2).to(dt) * offset_scale
    x = (torch.arange(out_w, dtype=dt, device=dev) - pad).view(1, 1, out_w, 1, 1) + kx + off[..., 0]
    y = (torch.arange(out_h, dtype=dt, device=dev) - pad).view(1, out_h, 1, 1, 1) + ky + off[..., 1]
    # grid_sample, align_corners=False: the centre of pixel t lies at (2t + 1) / size - 1
    grid = torch.stack(((2 * x + 1) / w - 1, (2 * y + 1) / h - 1), dim=-1)  # (N, Ho, Wo, G, P, 2)
    grid = grid.permute(0, 3, 1, 2, 4, 5).reshape(n * groups, out_h, out_w * points, 2)
    v = value.reshape(n, h, w, groups, c // groups).permute(0, 3, 4, 1, 2).reshape(n * groups, c // groups, h, w)
    sampled = F.grid_sample(v, grid.to(v.dtype), mode='bilinear', padding_mode='zeros', align_corners=False)
    sampled = sampled.view(n, groups, c // groups, out_h, out_w, points)
    m = mask.reshape(n, out_h, out_w, groups, points).permute(0, 3, 1, 2, 4).unsqueeze(2)
    out = (sampled * m).sum(-1)  # (N, G, C/G, Ho, Wo)
    return out.permute(0, 3, 4, 1, 2).reshape(n, out_h, out_w, c)


def dcnv3_torchvision(value, offset, mask, groups, kernel_size=3, pad=1, dilation=1, offset_scale=1.0):
    """Same as :func:`dcnv3_grid_sample` through ``torchvision.ops.deform_conv2d`` (point order ky-major,
    offsets (dy, dx)): a depth-wise modulated deformable conv with unit weights and ``groups`` offset groups."""
    from torchvision.ops import deform_conv2d
    n, h, w, c, out_h, out_w, points = _check_core_inputs(value, offset, mask, groups, kernel_size, pad, dilation)
    k = kernel_size
    off = (offset.reshape(n, out_h, out_w, groups, k, k, 2) * offset_scale).flip(-1).transpose(4, 5)
    off = off.reshape(n, out_h, out_w, groups * points * 2).permute(0, 3, 1, 2)
    m = mask.reshape(n, out_h, out_w, groups, k, k).transpose(4, 5).reshape(n, out_h, out_w, -1).permute(0, 3, 1, 2)
    weight = value.new_ones(c, 1, k, k)
    out = deform_conv2d(value.permute(0, 3, 1, 2), off.to(value.dtype), weight, padding=pad, dilation=dilation,
                        mask=m.to(value.dtype))
    return out.permute(0, 2, 3, 1)


_CORES = dict(grid_sample=dcnv3_grid_sample, torchvision=dcnv3_torchvision)


class DeformableSampling(nn.Module):
    """The parameter-free DCNv3 core as a module, so that ``count_macs`` sees it: one MAC per sampled point and
    channel (the mask-weighted sum, like a K x K depth-wise conv; bilinear weights are not counted)."""

    def __init__(self, groups, kernel_size=3, dilation=1, offset_scale=1.0, impl='grid_sample'):
        super().__init__()
        if impl not in _CORES:
            raise ValueError(f'DCNv3: unknown impl {impl!r}; valid: {list(DCN_IMPLS)}')
        self.groups, self.kernel_size, self.dilation = groups, kernel_size, dilation
        self.pad = dilation * (kernel_size - 1) // 2
        self.offset_scale, self.impl = offset_scale, impl

    def forward(self, value, offset, mask):
        if value.is_meta:  # shapes only (e.g. counting a big model on the meta device, where grid_sample is slow)
            n, _, _, c, out_h, out_w, _ = _check_core_inputs(value, offset, mask, self.groups, self.kernel_size,
                                                            self.pad, self.dilation)
            return value.new_empty(n, out_h, out_w, c)
        return _CORES[self.impl](value, offset, mask, self.groups, self.kernel_size, self.pad, self.dilation,
                                 self.offset_scale)

    def count_macs(self, inputs, output):
        return output.numel() * self.kernel_size ** 2

    def extra_repr(self):
        return (f'groups={self.groups}, kernel_size={self.kernel_size}, dilation={self.dilation}, '
                f'offset_scale={self.offset_scale}, impl={self.impl!r}')


class DCNv3(nn.Module):
    """UniConvNet's modified DCNv3 on NHWC tensors (UniConvNet supp. C.2): ``output_proj(core(input_proj(x), offset(s),
    mask(s)))`` with ``s = dw_conv(x)`` (depth-wise K x K, bias).

    Differences from InternImage's DCNv3: no LayerNorm + GELU after ``dw_conv`` and no softmax over the mask
    (raw linear outputs). ``reset_parameters()`` zeroes the offset and mask layers (so the module outputs exactly
    0 at initialisation) and Xavier-initialises the projections.

    Args:
        channels (int): C.
        groups (int): G, the number of offset/mask groups; C must be divisible by G.
        kernel_size (int): K (odd); the sampling grid and ``dw_conv`` (padding keeps H x W).
        dilation (int): dilation of the sampling grid.
        offset_scale (float): multiplies the predicted offsets.
        impl (str): ``'grid_sample'`` (default) or ``'torchvision'``; see the module docstring.
    """

    def __init__(self, channels, groups, kernel_size=3, dilation=1, offset_scale=1.0, impl='grid_sample'):
        super().__init__()
        if groups <= 0 or channels % groups:
            raise ValueError(f'DCNv3: channels={channels} must be divisible by groups={groups}')
        if kernel_size % 2 == 0 or kernel_size <= 0:
            raise ValueError(f'DCNv3: kernel_size={kernel_size} must be a positive odd number')
        points = kernel_size * kernel_size
        self.channels, self.groups = channels, groups
        self.dw_conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)
        self.offset = nn.Linear(channels, groups * points * 2)
        self.mask = nn.Linear(channels, groups * points)
        self.input_proj = nn.Linear(channels, channels)
        self.output_proj = nn.Linear(channels, channels)
        self.sampling = DeformableSampling(groups, kernel_size, dilation, offset_scale, impl)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        """Offset/mask weights and biases 0; projections Xavier-uniform with zero bias; ``dw_conv`` untouched."""
        for layer in (self.offset, self.mask):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        for layer in (self.input_proj, self.output_proj):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        value = self.input_proj(x)
        s = self.dw_conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.output_proj(self.sampling(value, self.offset(s), self.mask(s)))
