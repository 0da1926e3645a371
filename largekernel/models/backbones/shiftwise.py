"""ShiftwiseConv (Li et al., "ShiftwiseConv: Small Convolutional Kernel with Large Kernel Effect", CVPR 2025).

| arch  | depths   | dims              | large kernels M | small kernel N |
|-------|----------|-------------------|-----------------|----------------|
| tiny  | 3-3-18-3 | 80, 160, 320, 640 | 51, 49, 47, 13  | 3              |
| small | 3-3-27-3 | 96, 192, 384, 768 | 51, 49, 47, 13  | 3              |

Ghost ratio G = 0.23, 2 Rep branches and E = 4 edges in all four stages (Table 8; §3.8, #21). Published params,
FLOPs and accuracy: configs/shiftwise/metafile.yml (checked by tests/test_shiftwise.py). The papers count params
with the two Rep branches summed into one group conv (the official ``merge_branches``); our deploy form also folds
the BatchNorms, GRN bias and layer scale. MACs in the paper's convention (see ``ShiftWiseConv.count_macs``).

SW-v1 (``ShiftWiseV1``) is the same operator on the SLaK architecture, the model of the §3.2-3.7 ablations.

The SW operator (§3.2-3.6) replaces an M x N / N x M strip pair by ceil(M/N) N x N filters per channel:

1. ghost split: ``repN = 2 * floor(floor(C (1 - G)) / 2)`` channels (fixed random subset, numpy seed 123 as in the
   official code) take part, the ``C - repN`` ghost channels pass through (§3.4, Fig. 3b);
2. a one-to-many group conv ``repN -> repN * nk`` (N x N, one group per channel), trained as a sum of
   ``num_branches`` parallel convs (Rep, §3.3) that ``reparameterize()`` adds into one;
3. shift-add: filter ``t`` of channel ``j`` is moved along the width (horizontal strip) and, independently, along
   the height (vertical strip) to one of the nk positions of the strip; each of the ``E`` edges uses its own random
   filter-to-position permutation, and a "small" path adds one randomly picked filter per edge unshifted (§3.5);
4. one BatchNorm per path *after* the shift (§3.3 #5), then ``x_rep + BN_h + BN_v + BN_s``; the ghost channels are
   concatenated behind (output order: rep channels, then ghost channels, like the official code).

Implementation (no custom CUDA): filters sharing a strip position are summed over the edges (everything before
the BNs is linear), which gives per-path filters; with the code's padding the shifted N x N windows tile the strip
exactly, so the horizontal path *is* a depth-wise N x (N nk) convolution and the vertical one an (N nk) x N
convolution (an exact equivalent); both run as depthwise convolutions on ``conv_impl`` (``F.conv2d``, the CPU
paths of ``layers.depthwise`` or the Triton kernels), so the operator works on CPU and GPU, in fp16/bf16 (the
official CUDA op is fp32-only), with no atomics of its own (deterministic on CPU, and on GPU under
``torch.use_deterministic_algorithms``). The deploy form caches its assembled kernels for inference; on the CPU
paths it runs the strips over all channels in input order (the ghost channels as identity taps) instead of
gathering the shift-wise channels, and the SW-v2 block folds its BN into them (``ShiftWiseBlock._forward``). The shift
tables are buffers (saved in checkpoints). ``count_macs`` reports the official group conv's MACs on the
(H + 2p - N + 1)^2 map, as the paper counts, not our strips'.

Paper vs code: we follow the code, which the released checkpoint needs -- padding N - 1 with a crop
of 1 (``padding='code'``, equal to zero-padded strip convolutions at the borders); the paper's default N // 2
(``padding='paper'``, windows centred outside the image are lost) is an option, run by the explicit shift-add
(``impl='shift'``). Horizontal and vertical tables are independent random permutations (code), not the paper's
"reverse order". The strips for M = 49, 47, 13 are off-centre by +1, +0.5, +1 pixels, as in the code.
"""
import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...registry import MODELS
from ..layers import (DropPath, LayerNorm2d, SEBlock, build_batch_norm, build_downsample_layers, build_stages,
                      conv_from_kernel, conv_norm_downsample, conv_stem, fuse_bn, layer_scale, maybe_checkpoint,
                      norm_conv_downsample, patchify_stem, scale_channels)
from ..layers.depthwise import cpu_depthwise_conv2d, same_depthwise_conv
from ..layers.grn_block import GRNFFNBlock
from ..layers.inference import has_forward_hooks, inference_cache, mlp
from ..layers.triton_dwconv import check_triton_usable
from ..layers.triton_dwconv import depthwise_conv2d as triton_depthwise_conv2d
from .base import LargeKernelBackbone, check_stage_lengths, resolve_arch, trunc_normal_init

PADDINGS = ('code', 'paper')
IMPLS = ('strip', 'shift')
CONV_IMPLS = ('auto', 'native', 'cpu', 'triton')


def rep_channel_count(channels, ghost_ratio):
    """repN = the even number of channels that take part (the official ``int(C * (1 - G)) // 2 * 2``)."""
    return int(channels * (1 - ghost_ratio)) // 2 * 2


@functools.lru_cache(maxsize=None)
def ghost_split(channels, rep_n, seed=123):
    """Sorted ``(rep, ghost)`` channel indices: the official ``np.random.seed(seed); np.random.choice(C, C - repN,
    replace=False)`` draw (legacy numpy generator, stable across numpy versions)."""
    ghost = np.random.RandomState(seed).choice(channels, channels - rep_n, replace=False)
    ghost = sorted(int(i) for i in ghost)
    rep = sorted(set(range(channels)) - set(ghost))
    return torch.tensor(rep, dtype=torch.long, device='cpu'), torch.tensor(ghost, dtype=torch.long, device='cpu')


@functools.lru_cache(maxsize=None)
def shift_tables(rep_n, nk, num_edges, seed=123):
    """Filter-to-position tables ``(h, v, s)`` in the official RNG order (``torch.manual_seed(seed)``, then per edge
    one ``randperm(nk)`` per channel for the horizontal strips, the same for the vertical ones, then per edge one
    ``randint(0, nk, [repN])`` for the small path). ``h[e, j, i]`` is the filter of channel ``j`` placed at strip
    position ``i`` by edge ``e`` (the official per-filter offsets are its inverse); ``s[e, j]`` the small filter."""
    g = torch.Generator().manual_seed(seed)
    perms = lambda: torch.stack([torch.stack([torch.randperm(nk, generator=g, device='cpu')  # noqa: E731
                                              for _ in range(rep_n)]) for _ in range(num_edges)])
    h, v = perms(), perms()
    s = torch.stack([torch.randint(0, nk, (rep_n,), generator=g, device='cpu') for _ in range(num_edges)])
    return h, v, s


class ShiftWiseConv(nn.Module):
    """The SW token mixer on ``channels`` channels (see the module docstring; §3.2-3.6).

    Args:
        channels (int): input = output channels.
        kernel_size (int): the equivalent large kernel M (> N).
        small_kernel (int): the small kernel N (odd).
        ghost_ratio (float): fraction G of channels passed through, in [0, 1).
        num_branches (int): parallel Rep convs in the training form ("rep2"; code ``N_path``).
        num_edges (int): shift-add edges E ("E4"; code ``N_rep``).
        padding (str): ``'code'`` (N - 1, crop 1; released model) or ``'paper'`` (N // 2).
        impl (str | None): ``'strip'`` (assembled depth-wise strips; code padding only) or ``'shift'`` (explicit
            shift-add of the group conv output); None picks ``'strip'`` when possible.
        conv_impl (str): the strip convolutions (impl 'strip'): ``'native'`` (``F.conv2d``), ``'cpu'`` (the CPU
            paths of ``layers.depthwise``: fast backward, layouts, kernels cropped to the map; ``F.conv2d`` on other
            devices), ``'triton'`` (``layers.triton_dwconv``; CUDA) or ``'auto'`` (``'cpu'`` without CUDA, else
            ``'native'``, as ``layers.lk_conv`` decides for strips).
        deploy (bool): inference form: one merged conv, the three BNs folded into per-path scales and one bias.
        norm_cfg (dict): the three post-shift BatchNorms (``dict(type='SyncBN')`` in the official code).
        seed (int): seed of the ghost split and of the shift tables (123 in the official code).
        rep_channels (int | None): number of shift-wise channels; None: SW-v2's rule ``rep_channel_count``
            (SW-v1 passes ``C - floor(C G)``, see ``ShiftWiseV1``).
    """

    def __init__(self, channels, kernel_size, small_kernel=3, *, ghost_ratio=0.23, num_branches=2, num_edges=4,
                 padding='code', impl=None, conv_impl='auto', deploy=False, norm_cfg=None, seed=123,
                 rep_channels=None):
        super().__init__()
        if not (isinstance(channels, int) and channels >= 1):
            raise ValueError(f'ShiftWiseConv: channels must be a positive int, got {channels!r}')
        if not (isinstance(small_kernel, int) and small_kernel >= 1 and small_kernel % 2 == 1):
            raise ValueError(f'ShiftWiseConv: small_kernel must be an odd positive int, got {small_kernel!r}')
        if not (isinstance(kernel_size, int) and kernel_size > small_kernel):
            raise ValueError(f'ShiftWiseConv: kernel_size (the equivalent large kernel M) must be an int larger than '
                             f'small_kernel={small_kernel}, got {kernel_size!r}')
        if padding not in PADDINGS:
            raise ValueError(f'ShiftWiseConv: unknown padding {padding!r}; valid: {PADDINGS}')
        impl = impl or ('strip' if padding == 'code' else 'shift')
        if impl not in IMPLS:
            raise ValueError(f'ShiftWiseConv: unknown impl {impl!r}; valid: {IMPLS} or None')
        if conv_impl not in CONV_IMPLS:
            raise ValueError(f'ShiftWiseConv: unknown conv_impl {conv_impl!r}; valid: {CONV_IMPLS}')
        if impl == 'shift' and conv_impl in ('cpu', 'triton'):
            raise ValueError(f"ShiftWiseConv: conv_impl={conv_impl!r} runs the strips of impl='strip'; impl='shift' "
                             "has none (use conv_impl='auto' or 'native')")
        if conv_impl == 'triton':
            check_triton_usable()
        elif conv_impl == 'auto':
            conv_impl = 'native' if torch.cuda.is_available() else 'cpu'
        if impl == 'strip' and padding != 'code':
            raise ValueError("ShiftWiseConv: impl='strip' needs padding='code' (with padding='paper' the windows "
                             "centred outside the image are dropped, which no strip convolution does); use "
                             "impl='shift'")
        if not 0 <= ghost_ratio < 1:
            raise ValueError(f'ShiftWiseConv: ghost_ratio must lie in [0, 1), got {ghost_ratio!r}')
        for name, value in (('num_branches', num_branches), ('num_edges', num_edges)):
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f'ShiftWiseConv: {name} must be a positive int, got {value!r}')
        if rep_channels is None:
            rep_channels = rep_channel_count(channels, ghost_ratio)
        elif not (isinstance(rep_channels, int) and 0 < rep_channels <= channels):
            raise ValueError(f'ShiftWiseConv: rep_channels must be an int in [1, {channels}] or None, '
                             f'got {rep_channels!r}')
        rep, ghost = ghost_split(channels, rep_channels, seed)
        if len(rep) < 2:
            raise ValueError(f'ShiftWiseConv: channels={channels} with ghost_ratio={ghost_ratio} leaves '
                             f'{len(rep)} shift-wise channels; at least 2 are needed')
        self.deploy = deploy
        self.channels, self.kernel_size, self.small_kernel = channels, kernel_size, small_kernel
        self.rep_channels, self.nk = len(rep), math.ceil(kernel_size / small_kernel)
        self.num_edges, self.padding, self.impl, self.conv_impl = num_edges, padding, impl, conv_impl
        # the large depthwise convs this module runs as functions (reported by ``layers.log_conv_impls``)
        self.functional_conv_impls = {conv_impl: 2} if impl == 'strip' else {}
        self.pad = small_kernel - 1 if padding == 'code' else small_kernel // 2  # of the group conv
        device = torch.empty(0).device  # the default device (e.g. 'meta' inside ``with torch.device('meta')``)
        h, v, s = shift_tables(self.rep_channels, self.nk, num_edges, seed)  # cached: same in every block
        for name, table in (('rep_index', rep), ('ghost_index', ghost), ('h_table', h), ('v_table', v),
                            ('s_table', s)):
            self.register_buffer(name, table.to(device, copy=True))

        out_n = self.rep_channels * self.nk
        conv = lambda: nn.Conv2d(self.rep_channels, out_n, small_kernel, padding=self.pad,  # noqa: E731
                                 groups=self.rep_channels, bias=False)
        if deploy:
            self.lk_conv = conv()
            self.scale = nn.Parameter(torch.ones(3, self.rep_channels))  # folded BN scales of the h, v, s paths
            self.bias = nn.Parameter(torch.zeros(self.rep_channels))
        else:
            self.lk_convs = nn.ModuleList(conv() for _ in range(num_branches))
            self.bn_h = build_batch_norm(self.rep_channels, norm_cfg)
            self.bn_v = build_batch_norm(self.rep_channels, norm_cfg)
            self.bn_s = build_batch_norm(self.rep_channels, norm_cfg)

    # -- filters -------------------------------------------------------------------------------------------------
    def _weight(self):
        if self.deploy:
            return self.lk_conv.weight
        return sum(c.weight for c in self.lk_convs)  # exact: no BN between the Rep convs and the shift (§3.3)

    def path_filters(self):
        """Per-path N x N filters, the edges summed: ``(h, v)`` of shape (repN, nk, N, N) (filter at strip
        position i) and ``s`` of shape (repN, N, N); scaled by the folded BNs in deploy form."""
        n, nk, k = self.rep_channels, self.nk, self.small_kernel
        w = self._weight().reshape(n * nk, k * k)
        base = torch.arange(n, device=w.device).view(1, n, 1) * nk
        gather = lambda table: w.index_select(0, table.flatten()).view(*table.shape, k, k).sum(0)  # noqa: E731
        h, v, s = gather(self.h_table + base), gather(self.v_table + base), gather(self.s_table + base[..., 0])
        if self.deploy:
            h = h * self.scale[0].view(-1, 1, 1, 1)
            v = v * self.scale[1].view(-1, 1, 1, 1)
            s = s * self.scale[2].view(-1, 1, 1)
        return h, v, s

    def strip_kernels(self, h, v):
        """Depth-wise strip kernels equal to the shifted windows: (repN, 1, N, 2R+1) horizontal and
        (repN, 1, 2R+1, N) vertical, centred on the output pixel. Window i covers offsets
        ``N i - M//2 ... N i - M//2 + N - 1``, so the strip spans ``-M//2 ... N nk - 1 - M//2``."""
        n, nk, k = h.shape[0], self.nk, self.small_kernel
        lo, hi = self.kernel_size // 2, k * nk - 1 - self.kernel_size // 2
        r = max(lo, hi)
        kh = F.pad(h.permute(0, 2, 1, 3).reshape(n, 1, k, nk * k), (r - lo, r - hi))
        kv = F.pad(v.reshape(n, 1, nk * k, k), (0, 0, r - lo, r - hi))
        return kh, kv

    def deploy_kernels(self):
        """The deploy form's computed kernels: ``(kh, kv)`` strips with the small path and the identity added to
        the centre of ``kh`` (impl 'strip'), or the scaled path filters ``(h, v, s)`` (impl 'shift'). Cached while
        gradients are off (inference; ``inference_cache``)."""
        sources = (self.lk_conv.weight, self.scale, self.h_table, self.v_table, self.s_table)
        return inference_cache(self, '_kernel_cache', sources, self._deploy_kernels)

    def _deploy_kernels(self):
        h, v, s = self.path_filters()
        if self.impl == 'strip':
            kh, kv = self.strip_kernels(h, v)
            r, p = kh.shape[-1] // 2, self.small_kernel // 2
            s = s.clone()
            s[:, p, p] += 1
            return kh + F.pad(s.unsqueeze(1), (r - p, r - p)), kv
        return h, v, s

    def input_order_kernels(self, norm=None):
        """Deploy form, impl 'strip': ``(kh, kv, bias)``, strips over all C channels in input order -- the
        shift-wise channels' strips and, for the ghost channels, the identity as ``kh``'s centre tap (other taps
        zero). ``kh * x + kv * x + bias`` is then the operator's output with its channels in input order rather than
        (rep, ghost) order, computed without the channel gathers and the concatenation (equal for finite inputs).
        ``norm``, an eval-mode BatchNorm on the (rep, ghost)-ordered output, is folded in. Cached while gradients
        are off, like ``deploy_kernels``."""
        sources = (self.lk_conv.weight, self.scale, self.bias, self.h_table, self.v_table, self.s_table,
                   self.rep_index, self.ghost_index)
        if norm is not None:
            sources += (norm.weight, norm.bias, norm.running_mean, norm.running_var)
        return inference_cache(self, '_input_order_cache', sources, lambda: self._input_order_kernels(norm))

    def _input_order_kernels(self, norm):
        kh, kv = self.deploy_kernels()
        channels, centre = self.channels, (kh.shape[2] // 2, kh.shape[3] // 2)
        full_h = kh.new_zeros(channels, *kh.shape[1:]).index_copy_(0, self.rep_index, kh)
        full_h[self.ghost_index, 0, centre[0], centre[1]] = 1
        full_v = kv.new_zeros(channels, *kv.shape[1:]).index_copy_(0, self.rep_index, kv)
        bias = self.bias.new_zeros(channels).index_copy_(0, self.rep_index, self.bias)
        if norm is not None:
            order = self.output_order()
            scale, shift = fuse_bn(torch.ones_like(norm.running_mean), None, norm)
            scale = torch.empty_like(scale).index_copy_(0, order, scale).to(kh.dtype)
            shift = torch.empty_like(shift).index_copy_(0, order, shift).to(kh.dtype)
            full_h, full_v = full_h * scale.view(-1, 1, 1, 1), full_v * scale.view(-1, 1, 1, 1)
            bias = bias * scale + shift
        return full_h, full_v, bias

    def output_order(self):
        """The input channel of each output channel: the shift-wise channels, then the ghost channels."""
        return torch.cat([self.rep_index, self.ghost_index])

    def input_order_inference(self):
        """Whether ``forward_input_order`` applies: deploy form, impl 'strip', conv_impl 'cpu' (it was measured
        on CPU), eager inference (no gradients, not traced, exported or compiled)."""
        return (self.deploy and self.impl == 'strip' and self.conv_impl == 'cpu' and not torch.is_grad_enabled()
                and not torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export()
                and not torch.compiler.is_compiling())

    def forward_input_order(self, x, norm=None):
        """The deploy operator (with ``norm`` folded in) on channels-last ``x``, channels in input order (see
        ``input_order_kernels``); inference only."""
        kh, kv, bias = self.input_order_kernels(norm)
        r, p = kv.shape[2] // 2, self.small_kernel // 2
        x = x.contiguous(memory_format=torch.channels_last)
        # the vertical strip first, the horizontal one accumulated into it (oneDNN's fused sum)
        return same_depthwise_conv(x, kh, None, (p, r), add_to=same_depthwise_conv(x, kv, bias, (r, p)))

    # -- forward ---------------------------------------------------------------------------------------------------
    def _strips(self, x, kh, kv):
        """Depth-wise horizontal and vertical strip convolutions of ``x`` (on ``conv_impl``)."""
        r, p = kv.shape[2] // 2, self.small_kernel // 2
        # compiled, the CPU paths would run as plain F.conv2d anyway; inductor's training graph of the horizontal
        # strip on channels-last input corrupted the heap (SW-tiny, batch 8, torch 2.13), the 'native' one below not
        if self.conv_impl == 'cpu' and not torch.compiler.is_compiling():
            return cpu_depthwise_conv2d(x, kh, None, (p, r)), cpu_depthwise_conv2d(x, kv, None, (r, p))
        if self.conv_impl == 'triton':
            return triton_depthwise_conv2d(x, kh), triton_depthwise_conv2d(x, kv)
        if torch.is_grad_enabled():
            # oneDNN's NCHW depth-wise conv has no fast path for very wide kernels: the
            # horizontal strip runs as a vertical one on the transposed map (also the fastest backward).
            out_h = F.conv2d(x.transpose(2, 3), kh.transpose(2, 3), padding=(r, p), groups=kh.shape[0])
            return out_h.transpose(2, 3), F.conv2d(x, kv, padding=(r, p), groups=kv.shape[0])
        # inference: the channels-last ``x`` (see ``forward``) is fast for both kernel shapes
        return (F.conv2d(x, kh, padding=(p, r), groups=kh.shape[0]),
                F.conv2d(x, kv, padding=(r, p), groups=kv.shape[0]))

    def _shift_paths(self, x, h, v, s):
        """The official shift-add: the group conv (N x N, padding p; here with the per-path filters), then the
        strip positions are summed at their offsets ``real_pad[i] = M//2 - N i - p`` along the strip and cropped by
        ``p - N//2`` across it (windows that fall outside the map are dropped)."""
        n, nk, k = self.rep_channels, self.nk, self.small_kernel
        weight = torch.cat([h, v, s.unsqueeze(1)], 1).reshape(n * (2 * nk + 1), 1, k, k)
        z = F.conv2d(x, weight, padding=self.pad, groups=n).unflatten(1, (n, 2 * nk + 1))
        height, width = x.shape[-2:]
        e = self.pad - k // 2  # crop of the cross direction
        out_h = x.new_zeros(x.shape)
        out_v = x.new_zeros(x.shape)
        for i in range(nk):
            shift = self.kernel_size // 2 - k * i - self.pad
            lo, hi = max(0, shift), min(width, z.shape[-1] + shift)
            if lo < hi:
                out_h[..., lo:hi] += z[:, :, i, e:e + height, lo - shift:hi - shift]
            lo, hi = max(0, shift), min(height, z.shape[-2] + shift)
            if lo < hi:
                out_v[..., lo:hi, :] += z[:, :, nk + i, lo - shift:hi - shift, e:e + width]
        return out_h, out_v, z[:, :, 2 * nk, e:e + height, e:e + width]

    def forward(self, x):
        if self.input_order_inference():  # one permutation of the output instead of two gathers and a concatenation
            out = self.forward_input_order(x)
            return out.permute(0, 2, 3, 1)[..., self.output_order()].permute(0, 3, 1, 2)
        x_rep = x.permute(0, 2, 3, 1).index_select(3, self.rep_index).permute(0, 3, 1, 2)  # channels-last copy
        if not self.deploy:
            h, v, s = self.path_filters()
            if self.impl == 'strip':
                out_h, out_v = self._strips(x_rep, *self.strip_kernels(h, v))
                p = self.small_kernel // 2
                out_s = F.conv2d(x_rep, s.unsqueeze(1), padding=p, groups=self.rep_channels)
            else:
                out_h, out_v, out_s = self._shift_paths(x_rep, h, v, s)
            out = x_rep + self.bn_h(out_h) + self.bn_v(out_v) + self.bn_s(out_s)
        elif self.impl == 'strip':
            out_h, out_v = self._strips(x_rep, *self.deploy_kernels())
            out = out_h + out_v + self.bias.view(-1, 1, 1)
        else:
            out_h, out_v, out_s = self._shift_paths(x_rep, *self.deploy_kernels())
            out = x_rep + out_h + out_v + out_s + self.bias.view(-1, 1, 1)
        # channels-last output (the FFN's linears then run on contiguous NHWC data)
        x_ghost = x.permute(0, 2, 3, 1).index_select(3, self.ghost_index).permute(0, 3, 1, 2)
        return torch.cat([out.contiguous(memory_format=torch.channels_last), x_ghost], 1)

    def count_macs(self, inputs, output):
        """The official group conv's MACs (repN * nk filters of N x N on the (H + 2p - N + 1)^2 map); the shift-add,
        BNs and identity are free, as in the paper's count."""
        b, _, height, width = inputs[0].shape
        grow = 2 * self.pad - self.small_kernel + 1
        return b * self.rep_channels * self.nk * self.small_kernel ** 2 * (height + grow) * (width + grow)

    @torch.no_grad()
    def reparameterize(self):
        """Sum the Rep convs into ``lk_conv`` and fold the three BNs into ``scale`` and ``bias`` (idempotent)."""
        if self.deploy:
            return
        weight = self._weight()
        scale, bias = [], 0
        for bn in (self.bn_h, self.bn_v, self.bn_s):
            t, b = fuse_bn(torch.ones_like(bn.running_mean), None, bn)
            scale.append(t)
            bias = bias + b
        self.lk_conv = conv_from_kernel(weight, like=self.lk_convs[0])
        self.scale = nn.Parameter(torch.stack(scale))
        self.bias = nn.Parameter(bias)
        del self.lk_convs, self.bn_h, self.bn_v, self.bn_s
        self.deploy = True


class ShiftWiseBlock(GRNFFNBlock):
    """SW-v2 block (UniRepLKNet-style, §3.8-3.9): ``x + DropPath(gamma * FFN(SE(BN(SW(x)))))`` with
    ``FFN = Linear(C, 4C) -> GELU -> GRN -> Linear(4C, C, no bias) -> BN``. The deploy form merges the SW operator
    and folds GRN's bias, the FFN BN and the layer scale into the second linear (as UniRepLKNet); the BN after the
    SW operator stays (the official inference model keeps it too)."""

    def __init__(self, dim, kernel_size, small_kernel=3, *, ghost_ratio=0.23, num_branches=2, num_edges=4,
                 padding='code', impl=None, conv_impl='auto', drop_path=0.0, layer_scale_init_value=1e-6,
                 deploy=False, with_cp=False, norm_cfg=None, seed=123, use_se=True):
        mixer = ShiftWiseConv(dim, kernel_size, small_kernel, ghost_ratio=ghost_ratio, num_branches=num_branches,
                              num_edges=num_edges, padding=padding, impl=impl, conv_impl=conv_impl, deploy=deploy,
                              norm_cfg=norm_cfg, seed=seed)
        super().__init__(dim, mixer, build_batch_norm(dim, norm_cfg), drop_path=drop_path,
                         layer_scale_init_value=layer_scale_init_value, deploy=deploy, with_cp=with_cp,
                         norm_cfg=norm_cfg)
        if not use_se:  # ShiftwiseConv Table 9 #25 ("#24 - SE")
            self.se = nn.Identity()

    def reparameterize_mixer(self):
        self.mixer.reparameterize()

    def _forward(self, x):
        """Eager inference of the deploy form keeps the channels in input order from the operator to the first
        linear: the BN folds into the operator's strips (``ShiftWiseConv.input_order_kernels``), the SE gate is
        computed in (rep, ghost) order on the pooled vector, and the first linear's columns are permuted (cached).
        The same numbers up to rounding; the state dict is unchanged. Forward hooks on the modules it bypasses
        (the operator, its BN, the SE block, the first linear; e.g. ``largekernel.utils.count_macs``) keep the
        module-by-module path."""
        if not (self.mixer.input_order_inference() and not self.norm.training
                and not has_forward_hooks(self.mixer, self.norm, self.se, self.pwconv1)):
            return super()._forward(x)
        y = self.mixer.forward_input_order(x, self.norm)
        order, inverse, weight = inference_cache(self, '_input_order_cache',
                                                 (self.pwconv1.weight, self.mixer.rep_index, self.mixer.ghost_index),
                                                 self._input_order_linear)
        if isinstance(self.se, SEBlock):
            y.mul_(self.se.gate(F.adaptive_avg_pool2d(y, 1)[:, order])[:, inverse])
        if self.streams(y):
            return self._streamed_ffn(x, y, weight, self.pwconv1.bias)
        return self._ffn(x, F.linear(y.permute(0, 2, 3, 1), weight, self.pwconv1.bias), inplace=True)

    def _input_order_linear(self):
        order = self.mixer.output_order()
        inverse = torch.argsort(order)
        return order, inverse, self.pwconv1.weight[:, inverse]


@MODELS.register_module()
class ShiftWise(LargeKernelBackbone):
    """ShiftwiseConv backbone, SW-v2 (see the module docstring for the variants).

    Args:
        arch (str | dict): ``'tiny'``, ``'small'`` or a dict with ``depths`` and ``dims``.
        in_channels (int): input channels.
        kernel_sizes (tuple[int]): the equivalent large kernel M of each stage (Table 8: 51, 49, 47, 13).
        small_kernel (int): N (Table 8: 3).
        ghost_ratio (float): G (0.23, README command; ``main.py``'s default is 0).
        num_branches (int): Rep branches of the training form (2).
        num_edges (int): shift-add edges E (4).
        padding (str): ``'code'`` (default, the released model) or ``'paper'``; see ``ShiftWiseConv``.
        impl (str | None): ``'strip'`` or ``'shift'``; see ``ShiftWiseConv``.
        conv_impl (str): the strip convolutions: ``'auto'``, ``'native'``, ``'cpu'`` or ``'triton'``; see
            ``ShiftWiseConv``.
        seed (int): seed of the ghost splits and shift tables (123: the official ones; checkpoints carry them).
        drop_path_rate (float): stochastic depth, rising linearly over all blocks (SW-tiny: 0.2).
        layer_scale_init_value (float | None): initial layer scale (1e-6); None or 0 disables it.
        norm_cfg (dict): the BatchNorms of every block (``dict(type='SyncBN')`` for detection/segmentation).
        use_se (bool): the SE block of every block (True); False is ShiftwiseConv Table 9 #25 ("#24 - SE").
        with_cp (bool): activation checkpointing per block.
        deploy (bool): build the inference form directly.
        Others: see ``LargeKernelBackbone``.

    Ablations (configs/shiftwise/ablations/): ``ghost_ratio=0`` is Table 9 #26 ("#24 - ghost"), ``use_se=False``
    Table 9 #25.
    """
    arch_zoo = {
        'tiny': dict(depths=(3, 3, 18, 3), dims=(80, 160, 320, 640)),
        'small': dict(depths=(3, 3, 27, 3), dims=(96, 192, 384, 768)),
    }

    def __init__(self, arch='tiny', *, in_channels=3, kernel_sizes=(51, 49, 47, 13), small_kernel=3,
                 ghost_ratio=0.23, num_branches=2, num_edges=4, padding='code', impl=None, conv_impl='auto',
                 seed=123, drop_path_rate=0.0, layer_scale_init_value=1e-6, norm_cfg=None, use_se=True, with_cp=False,
                 deploy=False, out_indices=(3,), out_norms=True, gap_before_final_norm=False, frozen_stages=0,
                 norm_eval=False, channels_last='auto', init_cfg=None):
        arch = resolve_arch('ShiftWise', arch, self.arch_zoo, ('depths', 'dims'))
        depths, dims = tuple(arch['depths']), tuple(arch['dims'])
        check_stage_lengths('ShiftWise', depths=depths, dims=dims)
        if len(kernel_sizes) != len(depths):
            raise ValueError(f'ShiftWise: kernel_sizes {tuple(kernel_sizes)} must give one large kernel per stage '
                             f'({len(depths)} stages)')
        super().__init__(num_stages=len(depths), out_indices=out_indices, out_norms=out_norms,
                         gap_before_final_norm=gap_before_final_norm, frozen_stages=frozen_stages,
                         norm_eval=norm_eval, deploy=deploy, channels_last=channels_last, init_cfg=init_cfg)
        self.depths, self.channels, self.kernel_sizes = depths, dims, tuple(kernel_sizes)

        self.downsample_layers = build_downsample_layers(conv_stem(in_channels, dims[0]), dims, conv_norm_downsample)
        self.stages = build_stages(depths, drop_path_rate, lambda i, j, rate: ShiftWiseBlock(
            dims[i], self.kernel_sizes[i], small_kernel, ghost_ratio=ghost_ratio, num_branches=num_branches,
            num_edges=num_edges, padding=padding, impl=impl, conv_impl=conv_impl, drop_path=rate,
            layer_scale_init_value=layer_scale_init_value, deploy=deploy, with_cp=with_cp, norm_cfg=norm_cfg,
            seed=seed, use_se=use_se))
        trunc_normal_init(self)
        self._finish_init()


def v1_rep_channels(channels, ghost_ratio):
    """SW-v1's shift-wise channel count ``C - floor(C G)`` (may be odd; SW-v2 rounds down to even instead)."""
    return channels - int(channels * ghost_ratio)


class ShiftWiseV1Block(nn.Module):
    """SW-v1 block: SLaK's ConvNeXt block with the SW operator as its large kernel,
    ``x + DropPath(gamma * Linear(GELU(Linear(LN(SW(x))))))``; with ``use_se`` the LN runs channels-first and an
    SE block follows it (the official ``use_se`` switch; ShiftwiseConv Table 2 #20). Only the SW operator
    re-parameterises (``large_kernel``; the LN cannot be folded)."""

    def __init__(self, dim, kernel_size, small_kernel=3, *, ghost_ratio=0.23, num_branches=2, num_edges=4,
                 padding='code', impl=None, conv_impl='auto', drop_path=0.0, layer_scale_init_value=1e-6,
                 use_se=False, deploy=False, with_cp=False, norm_cfg=None, seed=123):
        super().__init__()
        self.with_cp = with_cp
        self.large_kernel = ShiftWiseConv(dim, kernel_size, small_kernel, ghost_ratio=ghost_ratio,
                                          num_branches=num_branches, num_edges=num_edges, padding=padding, impl=impl,
                                          conv_impl=conv_impl, deploy=deploy, norm_cfg=norm_cfg, seed=seed,
                                          rep_channels=v1_rep_channels(dim, ghost_ratio))
        self.norm = LayerNorm2d(dim, eps=1e-6) if use_se else nn.LayerNorm(dim, eps=1e-6)
        self.se = SEBlock(dim, reduction=4) if use_se else None
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = layer_scale(dim, layer_scale_init_value)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _forward(self, x):
        y = self.large_kernel(x)
        y = self.se(self.norm(y)).permute(0, 2, 3, 1) if self.se is not None else self.norm(y.permute(0, 2, 3, 1))
        y = scale_channels(mlp(y, self.pwconv1, self.act, self.pwconv2), self.gamma, dim=-1)
        return x + self.drop_path(y.permute(0, 3, 1, 2))

    def forward(self, x):
        return maybe_checkpoint(self._forward, x, self.with_cp)


@MODELS.register_module()
class ShiftWiseV1(LargeKernelBackbone):
    """ShiftwiseConv SW-v1: the SW operator on the SLaK architecture (official ``ShiftWise_v1`` of
    ``SW_v1_slak.py``), the model of the paper's §3.2-3.7 ablations (Tables 1 and 2, 120 epochs).

    SLaK's skeleton (4x4 patchify stem, LN -> 2x2 conv downsampling, stage widths ``int(d * width_factor)``) with
    each block's strip pair replaced by the SW operator (``large_kernel``; see ``ShiftWiseConv``). Differences from
    SW-v2 (``ShiftWise``): LN instead of BN, no GRN / FFN BN, no SE unless ``use_se``, and ``C - floor(C G)``
    shift-wise channels (SW-v2 rounds to even). The deploy form merges only the SW operators.

    Table rows (configs/shiftwise/ablations/): Table 2 #11 (rep2 E4, the defaults) and #12-#14 (``num_branches``,
    ``num_edges``). #19/#20 (UniRepLKNet-T's depths and widths, SE off/on) can be built with
    ``arch=dict(depths=(3, 3, 18, 3), dims=(80, 160, 320, 640), width_factor=1.0)`` and ``use_se``, but the paper
    does not say whether those runs kept this block, so they have no config. Table 1 #2-#8 and Table 2 #9/#10 used
    fixed or reversed shift orders and BNs before the shift, which the official code no longer has; they are not
    reproduced.

    Args:
        arch (str | dict): ``'tiny'``, ``'small'``, ``'base'`` (SLaK's T/S/B before widening) or a dict with
            ``depths``, ``dims`` and optionally ``width_factor``.
        width_factor (float): default stage-width factor r (1.3, SLaK's; the official constructor default is 1.0);
            an arch dict's own ``width_factor`` wins.
        kernel_sizes (tuple[int]): the equivalent large kernel M of each stage (51, 49, 47, 13).
        small_kernel (int): N (3 from Table 1 #7 on).
        ghost_ratio (float): G (0.23, Table 1 #6: R (1 - G) = 1 for R = 1.3).
        num_branches (int): Rep branches (``N_path``; 2).
        num_edges (int): shift-add edges E (``N_rep``; 4).
        use_se (bool): SE after the (channels-first) LN of every block (official ``use_se``, off by default).
        Others: as ``ShiftWise`` / ``LargeKernelBackbone``.
    """
    arch_zoo = {
        'tiny': dict(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768)),
        'small': dict(depths=(3, 3, 27, 3), dims=(96, 192, 384, 768)),
        'base': dict(depths=(3, 3, 27, 3), dims=(128, 256, 512, 1024)),
    }

    def __init__(self, arch='tiny', *, in_channels=3, width_factor=1.3, kernel_sizes=(51, 49, 47, 13),
                 small_kernel=3, ghost_ratio=0.23, num_branches=2, num_edges=4, padding='code', impl=None,
                 conv_impl='auto', seed=123, use_se=False, drop_path_rate=0.0, layer_scale_init_value=1e-6,
                 norm_cfg=None, with_cp=False, deploy=False, out_indices=(3,), out_norms=True,
                 gap_before_final_norm=False, frozen_stages=0, norm_eval=False, channels_last='auto', init_cfg=None):
        arch = resolve_arch('ShiftWiseV1', arch, self.arch_zoo, ('depths', 'dims'), ('width_factor',))
        depths, width_factor = tuple(arch['depths']), arch.get('width_factor', width_factor)
        check_stage_lengths('ShiftWiseV1', depths=depths, dims=arch['dims'])
        if width_factor <= 0:
            raise ValueError(f'ShiftWiseV1: width_factor must be positive, got {width_factor}')
        dims = tuple(int(d * width_factor) for d in arch['dims'])
        if len(kernel_sizes) != len(depths):
            raise ValueError(f'ShiftWiseV1: kernel_sizes {tuple(kernel_sizes)} must give one large kernel per stage '
                             f'({len(depths)} stages)')
        super().__init__(num_stages=len(depths), out_indices=out_indices, out_norms=out_norms,
                         gap_before_final_norm=gap_before_final_norm, frozen_stages=frozen_stages,
                         norm_eval=norm_eval, deploy=deploy, channels_last=channels_last, init_cfg=init_cfg)
        self.depths, self.channels, self.kernel_sizes = depths, dims, tuple(kernel_sizes)

        self.downsample_layers = build_downsample_layers(patchify_stem(in_channels, dims[0]), dims,
                                                         norm_conv_downsample)
        self.stages = build_stages(depths, drop_path_rate, lambda i, j, rate: ShiftWiseV1Block(
            dims[i], self.kernel_sizes[i], small_kernel, ghost_ratio=ghost_ratio, num_branches=num_branches,
            num_edges=num_edges, padding=padding, impl=impl, conv_impl=conv_impl, drop_path=rate,
            layer_scale_init_value=layer_scale_init_value, use_se=use_se, deploy=deploy, with_cp=with_cp,
            norm_cfg=norm_cfg, seed=seed))
        trunc_normal_init(self)
        self._finish_init()
