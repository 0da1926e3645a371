"""SLaK (Liu et al., "More ConvNets in the 2020s: Scaling up Kernels Beyond 51x51 using Sparsity", ICLR 2023).

| arch | depths   | dims (ConvNeXt x 1.3) | large kernels K | small kernel N |
|------|----------|-----------------------|-----------------|----------------|
| T    | 3-3-9-3  | 124, 249, 499, 998    | 51, 49, 47, 13  | 5              |
| S    | 3-3-27-3 | 124, 249, 499, 998    | 51, 49, 47, 13  | 5              |
| B    | 3-3-27-3 | 166, 332, 665, 1331   | 51, 49, 47, 13  | 5              |

Published params and FLOPs: configs/slak/metafile.yml (checked by tests/test_slak.py). They are those of the
40%-sparse trained models: their non-zero weights and remaining MACs; ``largekernel.utils.sparsity`` computes both
for a uniform density (the paper's per-layer densities come from SNIP, so its MACs match only approximately).

A block is a ConvNeXt block whose 7x7 depthwise conv is replaced by the SLaK large-kernel module: two
parallel depthwise strips ``K x N`` and ``N x K`` plus an ``N x N`` square kernel, each followed by its own
BatchNorm, summed. The deploy form (not shipped officially) folds the three BNs and merges the small kernel into the
``K x N`` strip, so inference runs two strip convolutions per block with identical outputs.
Sparse training (the "sparsity" of the title) is a training hook, ``largekernel.engine.sparse``; the
backbone itself is dense.

Paper vs code: both describe the same network. Official key names are kept (``large_kernel.LoRA1/LoRA2/small_conv``,
``stages``, ``downsample_layers``), so tools/model_converters/slak_to_largekernel.py only renames the head and
the final norm. The official code runs every depthwise conv through the iGEMM CUDA extension; ours go through
``layers.lk_conv`` (``conv_impl``; same weight layout).
"""
import torch
from torch import nn

from ...registry import MODELS
from ..layers import (ConvBN, DropPath, branch_impl, build_depthwise_conv, build_downsample_layers, build_stages,
                      conv_from_kernel, layer_scale, maybe_checkpoint, norm_conv_downsample, pad_kernel, patchify_stem,
                      scale_channels)
from ..layers.inference import mlp
from .base import LargeKernelBackbone, check_stage_lengths, resolve_arch, trunc_normal_init
from .replknet import ReparamLargeKernelConv


def check_kernel_sizes(kernel_sizes, small_kernel, num_stages):
    """Validate the per-stage large kernels ``K_i`` and the strip width / small kernel ``N`` (all odd, N < K_i)."""
    kernel_sizes = tuple(kernel_sizes)
    if len(kernel_sizes) != num_stages:
        raise ValueError(f'SLaK: kernel_sizes {kernel_sizes} must give one large kernel per stage ({num_stages})')
    bad = [k for k in kernel_sizes + (small_kernel,) if not isinstance(k, int) or k < 1 or k % 2 == 0]
    if bad:
        raise ValueError(f'SLaK: kernel sizes must be positive odd integers (centred "same" padding and the '
                         f'small-kernel merge need odd sizes); got {bad} in kernel_sizes={kernel_sizes}, '
                         f'small_kernel={small_kernel}')
    too_small = [k for k in kernel_sizes if k <= small_kernel]
    if too_small:
        raise ValueError(f'SLaK: every large kernel must exceed small_kernel={small_kernel} (the strips are '
                         f'K x {small_kernel}); got {too_small} in kernel_sizes={kernel_sizes}')
    return kernel_sizes


class SLaKConv(nn.Module):
    """SLaK's large-kernel module, ``ReparamLargeKernelConv(Decom=True)`` in the official code.

    ``BN(conv_{K x N}(x)) + BN(conv_{N x K}(x)) + BN(conv_{N x N}(x))``, all depthwise, stride 1, "same" padding.
    ``reparameterize()`` leaves ``LoRA1`` (``K x N``, with the merged bias and small kernel) and ``LoRA2``
    (``N x K``, no bias).
    """

    def __init__(self, channels, kernel_size, small_kernel, *, deploy=False, norm_cfg=None, conv_impl='auto'):
        super().__init__()
        self.deploy = deploy
        self.kernel_size, self.small_kernel = kernel_size, small_kernel
        tall, wide = (kernel_size, small_kernel), (small_kernel, kernel_size)
        if deploy:
            self.LoRA1 = build_depthwise_conv(channels, tall, bias=True, impl=conv_impl)
            self.LoRA2 = build_depthwise_conv(channels, wide, bias=False, impl=conv_impl)
            self.small_conv = None
        else:
            def unit(size, impl):
                return ConvBN(channels, channels, size, norm_cfg=norm_cfg,
                              conv=build_depthwise_conv(channels, size, impl=impl))
            self.LoRA1, self.LoRA2 = unit(tall, conv_impl), unit(wide, conv_impl)
            self.small_conv = unit(small_kernel, branch_impl(conv_impl))

    def forward(self, x):
        out = self.LoRA1(x) + self.LoRA2(x)
        if not self.deploy:
            out = out + self.small_conv(x)
        return out

    @torch.no_grad()
    def reparameterize(self):
        if self.deploy:
            return
        w1, b1 = self.LoRA1.fused()
        w2, b2 = self.LoRA2.fused()
        ws, bs = self.small_conv.fused()
        tall = conv_from_kernel(w1 + pad_kernel(ws, (self.kernel_size, self.small_kernel)), b1 + b2 + bs,
                                like=self.LoRA1.conv)
        self.LoRA1, self.LoRA2, self.small_conv = tall, conv_from_kernel(w2, like=self.LoRA2.conv), None
        self.deploy = True


class SLaKBlock(nn.Module):
    """ConvNeXt block with the SLaK kernel module:
    ``x + DropPath(gamma * Linear(GELU(Linear(LN(SLaKConv(x))))))``, LN and Linears channels-last."""

    def __init__(self, dim, kernel_size, small_kernel, *, drop_path=0.0, layer_scale_init_value=1e-6, deploy=False,
                 with_cp=False, norm_cfg=None, decompose=True, conv_impl='auto'):
        super().__init__()
        self.with_cp = with_cp
        # decompose=False: the official Decom=False ablation, a K x K + N x N pair (RepLKNet's module, same keys)
        kernel_module = SLaKConv if decompose else ReparamLargeKernelConv
        self.large_kernel = kernel_module(dim, kernel_size, small_kernel, deploy=deploy, norm_cfg=norm_cfg,
                                          conv_impl=conv_impl)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = layer_scale(dim, layer_scale_init_value)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _forward(self, x):
        y = self.norm(self.large_kernel(x).permute(0, 2, 3, 1))
        y = scale_channels(mlp(y, self.pwconv1, self.act, self.pwconv2), self.gamma, dim=-1)
        return x + self.drop_path(y.permute(0, 3, 1, 2))

    def forward(self, x):
        return maybe_checkpoint(self._forward, x, self.with_cp)


@MODELS.register_module()
class SLaK(LargeKernelBackbone):
    """SLaK backbone (see the module docstring for the variants).

    Args:
        arch (str | dict): ``'T', 'S', 'B'`` or a dict with ``depths``, ``dims`` (the ConvNeXt widths before
            widening) and optionally ``width_factor`` (default 1.3); stage channels are ``int(d * width_factor)``
            like the official ``--width_factor``.
        kernel_sizes (tuple[int]): the large kernel ``K`` of each stage (official ``--kernel_size`` first four
            values); published 51, 49, 47, 13. Odd, larger than ``small_kernel``.
        small_kernel (int): ``N``, the short side of the strips and the size of the square kernel (official last
            ``--kernel_size`` value); published 5. Odd.
        in_channels (int): input channels.
        drop_path_rate (float): stochastic depth, rising linearly over all blocks.
        layer_scale_init_value (float | None): initial layer scale; None or 0 disables it.
        norm_cfg (dict): the BatchNorm of the kernel branches; the official code uses SyncBN
            (``dict(type='SyncBN')``), equal to BN on one device.
        decompose (bool): True (default, official ``Decom=True``): the strip pair ``K x N`` + ``N x K`` plus the
            ``N x N`` kernel. False (official ``Decom=False``, the SLaK paper's ablation of kernel decomposition):
            one dense ``K x K`` depthwise kernel plus the ``N x N`` one
            (``large_kernel.lkb_origin`` / ``small_conv``; deploy form one biased ``K x K`` conv ``lkb_reparam``).
        conv_impl (str): ``'auto'``, ``'native'``, ``'cpu'`` or ``'triton'`` for the strips (``'igemm'``: the
            square kernels of ``decompose=False``) (layers.lk_conv); the small kernels use ``'auto'`` unless this
            is ``'native'`` or ``'cpu'``.
        with_cp (bool): activation checkpointing per block.
        deploy (bool): build the re-parameterised inference form (two strip convs per block) directly.
        Others: see ``LargeKernelBackbone``. ``out_norms=True`` with ``gap_before_final_norm=True`` reproduces the
        official head norm (``GAP -> LN``) as ``norm3``.
    """
    arch_zoo = {
        'T': dict(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768)),
        'S': dict(depths=(3, 3, 27, 3), dims=(96, 192, 384, 768)),
        'B': dict(depths=(3, 3, 27, 3), dims=(128, 256, 512, 1024)),
    }

    def __init__(self, arch='T', *, kernel_sizes=(51, 49, 47, 13), small_kernel=5, in_channels=3,
                 drop_path_rate=0.0, layer_scale_init_value=1e-6, norm_cfg=None, decompose=True, conv_impl='auto',
                 with_cp=False, deploy=False, out_indices=(3,), out_norms=True, gap_before_final_norm=False,
                 frozen_stages=0, norm_eval=False, channels_last='auto', init_cfg=None):
        arch = resolve_arch('SLaK', arch, self.arch_zoo, ('depths', 'dims'), ('width_factor',))
        depths, width_factor = tuple(arch['depths']), arch.get('width_factor', 1.3)
        check_stage_lengths('SLaK', depths=depths, dims=arch['dims'])
        if width_factor <= 0:
            raise ValueError(f'SLaK: width_factor must be positive, got {width_factor}')
        dims = tuple(int(d * width_factor) for d in arch['dims'])
        super().__init__(num_stages=len(depths), out_indices=out_indices, out_norms=out_norms,
                         gap_before_final_norm=gap_before_final_norm, frozen_stages=frozen_stages,
                         norm_eval=norm_eval, deploy=deploy, channels_last=channels_last, init_cfg=init_cfg)
        self.kernel_sizes = check_kernel_sizes(kernel_sizes, small_kernel, len(depths))
        self.small_kernel, self.depths, self.channels = small_kernel, depths, dims
        self.decompose = decompose

        self.downsample_layers = build_downsample_layers(patchify_stem(in_channels, dims[0]), dims,
                                                         norm_conv_downsample)
        self.stages = build_stages(depths, drop_path_rate, lambda i, j, rate: SLaKBlock(
            dims[i], self.kernel_sizes[i], small_kernel, drop_path=rate, layer_scale_init_value=layer_scale_init_value,
            deploy=deploy, with_cp=with_cp, norm_cfg=norm_cfg, decompose=decompose, conv_impl=conv_impl))
        trunc_normal_init(self)
        self._finish_init()
