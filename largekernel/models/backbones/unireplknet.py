"""UniRepLKNet (Ding et al., "UniRepLKNet: A Universal Perception Large-Kernel ConvNet", CVPR 2024 / TPAMI 2025).

| arch | depths   | dims                 |
|------|----------|----------------------|
| A    | 2-2-6-2  | 40, 80, 160, 320     |
| F    | 2-2-6-2  | 48, 96, 192, 384     |
| P    | 2-2-6-2  | 64, 128, 256, 512    |
| N    | 2-2-8-2  | 80, 160, 320, 640    |
| T    | 3-3-18-3 | 80, 160, 320, 640    |
| S    | 3-3-27-3 | 96, 192, 384, 768    |
| B    | 3-3-27-3 | 128, 256, 512, 1024  |
| L    | 3-3-27-3 | 192, 384, 768, 1536  |
| XL   | 3-3-27-3 | 256, 512, 1024, 2048 |
| H    | 3-3-27-3 | 480, 960, 1920, 3840 |

Published params and FLOPs: configs/unireplknet/metafile.yml (checked by tests/test_unireplknet.py).
Stage kernels: stage 1 3x3; stage 2 and 4 13x13; stage 3 13x13 for A/F/P/N, (13, 3) x 9 for T and (13, 3, 3) x 9
for S and up.
H exists only in the journal's Table 4 (no weights, no recipe); its dims follow the C, 2C, 4C, 8C rule, C = 480.

A block (§3.2): depthwise conv (a Dilated Reparam Block for K >= 7, a plain conv for K in {3, 5}) -> BN -> SE ->
Linear(C, 4C) -> GELU -> GRN -> Linear(4C, C) -> BN -> layer scale -> DropPath + identity. The deploy form merges the
DRB into one K x K kernel, folds both BNs, GRN's bias and the layer scale.
Paper vs code: the paper's footnote uses a DRB from K >= 9, the official code (and so the released checkpoints)
from K >= 7; we follow the code.
"""
import torch
from torch import nn

from ...registry import MODELS
from ..layers import (ConvBN, SEBlock, branch_impl, build_batch_norm, build_depthwise_conv, build_downsample_layers,
                      build_stages, conv_from_kernel, conv_norm_downsample, conv_stem, dilated_to_dense, fuse_bn,
                      pad_kernel)
from ..layers.grn_block import GRNFFNBlock
from .base import LargeKernelBackbone, check_stage_lengths, reparameterize_children, resolve_arch, trunc_normal_init

# Parallel dilated branches (kernel size k, dilation r) of the DRB for each large kernel K (§3.2).
DRB_BRANCHES = {
    5: ((3, 1), (3, 2)),
    7: ((5, 1), (3, 2), (3, 3)),
    9: ((5, 1), (5, 2), (3, 3), (3, 4)),
    11: ((5, 1), (5, 2), (3, 3), (3, 4), (3, 5)),
    13: ((5, 1), (7, 2), (3, 3), (3, 4), (3, 5)),
    15: ((5, 1), (7, 2), (3, 3), (3, 5), (3, 7)),
    17: ((5, 1), (9, 2), (3, 4), (3, 5), (3, 7)),
}
SMALL_KERNELS = (3, 5)
BLOCK_KERNELS = SMALL_KERNELS + tuple(k for k in DRB_BRANCHES if k >= 7)
# Table 3b: the re-parameterisation of the K >= 7 kernels. 'dilated': the DRB; 'none': a plain K x K conv;
# 'same_kernel' / 'same_eq_kernel': the DRB's branches without dilation, with the same kernel sizes k or with the
# same equivalent sizes (k - 1) r + 1 (variants A and B of §3.2.2).
DRB_VARIANTS = ('dilated', 'none', 'same_kernel', 'same_eq_kernel')
# Table 3a: the extra structure after the conv's BN. 'se': the SE block (default); 'none'; 'bottleneck': 1x1 to C/4,
# DW 3x3, 1x1 back; 'two_1x1': 1x1 to C/4 and back; 'two_dw3x3': two DW 3x3 (each conv followed by BN and ReLU).
EXTRA_STRUCTURES = ('se', 'none', 'bottleneck', 'two_1x1', 'two_dw3x3')


def drb_branches(kernel_size, variant='dilated'):
    """``(k, r)`` of the parallel branches of a K x K DRB for a Table 3b ``variant``."""
    if variant not in DRB_VARIANTS:
        raise ValueError(f'UniRepLKNet: unknown drb_variant {variant!r}; valid: {DRB_VARIANTS}')
    branches = DRB_BRANCHES[kernel_size]
    if variant == 'same_kernel':
        return tuple((k, 1) for k, _ in branches)
    if variant == 'same_eq_kernel':
        return tuple(((k - 1) * r + 1, 1) for k, r in branches)
    return branches


def extra_structure(dim, kind, *, deploy=False, norm_cfg=None):
    """The Table 3a structure between the conv's BN and the FFN (``se`` in every block); its conv-BN units are
    folded in deploy form."""
    if kind not in EXTRA_STRUCTURES:
        raise ValueError(f'UniRepLKNet: unknown extra_structure {kind!r}; valid: {EXTRA_STRUCTURES}')
    if kind == 'se':
        return SEBlock(dim, reduction=4)
    unit = lambda cin, cout, k, groups=1: ConvBN(cin, cout, k, groups=groups, act=nn.ReLU(),  # noqa: E731
                                                  deploy=deploy, norm_cfg=norm_cfg)
    if kind == 'bottleneck':
        return nn.Sequential(unit(dim, dim // 4, 1), unit(dim // 4, dim // 4, 3, dim // 4), unit(dim // 4, dim, 1))
    if kind == 'two_1x1':
        return nn.Sequential(unit(dim, dim // 4, 1), unit(dim // 4, dim, 1))
    if kind == 'two_dw3x3':
        return nn.Sequential(unit(dim, dim, 3, dim), unit(dim, dim, 3, dim))
    return nn.Identity()

_SMALL_PATTERN = {  # default kernel sizes per stage, keyed by depths
    (2, 2, 6, 2): ((3,) * 2, (13,) * 2, (13,) * 6, (13,) * 2),
    (2, 2, 8, 2): ((3,) * 2, (13,) * 2, (13,) * 8, (13,) * 2),
    (3, 3, 18, 3): ((3,) * 3, (13,) * 3, (13, 3) * 9, (13,) * 3),
    (3, 3, 27, 3): ((3,) * 3, (13,) * 3, (13, 3, 3) * 9, (13,) * 3),
}


class DilatedReparamBlock(nn.Module):
    """K x K depthwise conv + BN in parallel with dilated small-kernel depthwise convs + BNs (§3.2).

    After ``reparameterize()`` only ``lk_origin`` (with bias) remains: each dilated kernel becomes the equivalent
    dense one (Eq. 1), is zero-padded to K x K and added.
    """

    def __init__(self, channels, kernel_size, *, deploy=False, norm_cfg=None, conv_impl='auto', variant='dilated'):
        super().__init__()
        if kernel_size not in DRB_BRANCHES:
            raise ValueError(f'DilatedReparamBlock: unsupported kernel_size {kernel_size}; '
                             f'valid: {sorted(DRB_BRANCHES)}')
        self.deploy = deploy
        self.kernel_size = kernel_size
        self.branches = drb_branches(kernel_size, variant)
        # branch names k{k}_{r}; a (k, r) that occurs more than once (Table 3b variant A) is numbered
        names = [f'k{k}_{r}' for k, r in self.branches]
        self.branch_names = [n if names.count(n) == 1 else f'{n}_{i}' for i, n in enumerate(names)]
        self.lk_origin = build_depthwise_conv(channels, kernel_size, bias=deploy, impl=conv_impl)
        if not deploy:
            self.origin_bn = build_batch_norm(channels, norm_cfg)
            for name, (k, r) in zip(self.branch_names, self.branches):
                self.add_module(f'dil_conv_{name}', build_depthwise_conv(channels, k, dilation=r,
                                                                          impl=branch_impl(conv_impl)))
                self.add_module(f'dil_bn_{name}', build_batch_norm(channels, norm_cfg))

    def forward(self, x):
        if self.deploy:
            return self.lk_origin(x)
        out = self.origin_bn(self.lk_origin(x))
        for name in self.branch_names:
            out = out + getattr(self, f'dil_bn_{name}')(getattr(self, f'dil_conv_{name}')(x))
        return out

    @torch.no_grad()
    def reparameterize(self):
        if self.deploy:
            return
        kernel, bias = fuse_bn(self.lk_origin.weight, None, self.origin_bn)
        for name, (k, r) in zip(self.branch_names, self.branches):
            w, b = fuse_bn(getattr(self, f'dil_conv_{name}').weight, None, getattr(self, f'dil_bn_{name}'))
            kernel = kernel + pad_kernel(dilated_to_dense(w, r), self.kernel_size)
            bias = bias + b
            delattr(self, f'dil_conv_{name}')
            delattr(self, f'dil_bn_{name}')
        del self.origin_bn
        self.lk_origin = conv_from_kernel(kernel, bias, like=self.lk_origin)
        self.deploy = True


class UniRepLKNetBlock(GRNFFNBlock):
    """One UniRepLKNet block (§3.2 and Fig. 2): ``x + DropPath(gamma * FFN(SE(BN(dwconv(x)))))``; the depthwise
    conv is a Dilated Reparam Block for K >= 7, a plain conv for K in {3, 5}; K = 0 has no conv and no BN (the
    official ``kernel_size=0``; Table 3d "w/o 3x3"). ``drb_variant`` and ``extra`` select the Table 3b/3a
    ablations (see ``DRB_VARIANTS``, ``EXTRA_STRUCTURES``)."""

    def __init__(self, dim, kernel_size, *, drop_path=0.0, layer_scale_init_value=1e-6, ffn_ratio=4, deploy=False,
                 with_cp=False, norm_cfg=None, conv_impl='auto', drb_variant='dilated', extra='se'):
        if kernel_size not in BLOCK_KERNELS + (0,):
            raise ValueError(f'UniRepLKNet: unsupported kernel size {kernel_size}; valid: {list(BLOCK_KERNELS)} '
                             '(or 0: no conv)')
        if drb_variant not in DRB_VARIANTS:
            raise ValueError(f'UniRepLKNet: unknown drb_variant {drb_variant!r}; valid: {DRB_VARIANTS}')
        if kernel_size == 0:
            dwconv = nn.Identity()
        elif kernel_size >= 7 and drb_variant != 'none':
            dwconv = DilatedReparamBlock(dim, kernel_size, deploy=deploy, norm_cfg=norm_cfg, conv_impl=conv_impl,
                                         variant=drb_variant)
        else:
            dwconv = build_depthwise_conv(dim, kernel_size, bias=deploy, impl=conv_impl)
        norm = nn.Identity() if deploy or kernel_size == 0 else build_batch_norm(dim, norm_cfg)
        super().__init__(dim, dwconv, norm, mixer_name='dwconv', ffn_ratio=ffn_ratio, drop_path=drop_path,
                         layer_scale_init_value=layer_scale_init_value, deploy=deploy, with_cp=with_cp,
                         norm_cfg=norm_cfg)
        if extra != 'se':
            self.se = extra_structure(dim, extra, deploy=deploy, norm_cfg=norm_cfg)

    def reparameterize_mixer(self):
        """Merge the DRB branches, then fold the block BN into the depthwise conv (and the BNs of a Table 3a extra
        structure into its convs)."""
        reparameterize_children(self.se)
        if isinstance(self.dwconv, nn.Identity):
            return
        if isinstance(self.dwconv, DilatedReparamBlock):
            self.dwconv.reparameterize()
            self.dwconv.lk_origin = self._fold_norm(self.dwconv.lk_origin)
        else:
            self.dwconv = self._fold_norm(self.dwconv)
        self.norm = nn.Identity()

    def _fold_norm(self, conv):
        return conv_from_kernel(*fuse_bn(conv.weight, conv.bias, self.norm), like=conv)


@MODELS.register_module()
class UniRepLKNet(LargeKernelBackbone):
    """UniRepLKNet backbone (see the module docstring for the variants).

    Args:
        arch (str | dict): ``'A', 'F', 'P', 'N', 'T', 'S', 'B', 'L', 'XL', 'H'`` or a dict with ``depths``,
            ``dims`` and optionally ``kernel_sizes`` (one tuple of per-block kernel sizes per stage; required
            when the depths have no default pattern).
        in_channels (int): 3 for images; the paper's audio and time-series models use 1 (§4.4).
        drop_path_rate (float): stochastic depth, rising linearly over all blocks.
        layer_scale_init_value (float | None): initial layer scale; None or 0 disables it.
        norm_cfg (dict): the BatchNorm of every block (``dict(type='SyncBN')`` for detection/segmentation).
        conv_impl (str): ``'auto'``, ``'native'``, ``'cpu'``, ``'igemm'`` or ``'triton'`` for the K x K depthwise convs
            (layers.lk_conv).
        drb_variant (str): re-parameterisation of the K >= 7 kernels, UniRepLKNet Table 3b: ``'dilated'`` (the
            DRB, default), ``'none'`` (plain K x K conv), ``'same_kernel'`` / ``'same_eq_kernel'`` (variants A/B).
        extra_structure (str): the structure after the conv's BN, Table 3a: ``'se'`` (default), ``'none'``,
            ``'bottleneck'``, ``'two_1x1'``, ``'two_dw3x3'``.
        with_cp (bool): activation checkpointing per block.
        deploy (bool): build the re-parameterised inference form directly.
        head_init_scale: not a backbone argument: the fine-tuning configs scale the head's initialisation
            (``head.init_cfg`` with ``std=0.02 * 0.001``).
        Others: see ``LargeKernelBackbone``.

    Ablations (configs/unireplknet/ablations/, §3.2, Table 3, 100 epochs on the "vanilla" architecture: C = 96,
    depths 3-3-9-3, 3x3 in stage 1 and 13x13 elsewhere): ``extra_structure`` (3a), ``drb_variant`` (3b), the
    per-stage kernels of an arch dict's ``kernel_sizes`` (3c) and, with depths 3-3-27-3, the LarK/SmaK layouts of
    stage 3 (3d; kernel size 0 is a block without its DW conv, "w/o 3x3").
    """
    arch_zoo = {
        'A': dict(depths=(2, 2, 6, 2), dims=(40, 80, 160, 320)),
        'F': dict(depths=(2, 2, 6, 2), dims=(48, 96, 192, 384)),
        'P': dict(depths=(2, 2, 6, 2), dims=(64, 128, 256, 512)),
        'N': dict(depths=(2, 2, 8, 2), dims=(80, 160, 320, 640)),
        'T': dict(depths=(3, 3, 18, 3), dims=(80, 160, 320, 640)),
        'S': dict(depths=(3, 3, 27, 3), dims=(96, 192, 384, 768)),
        'B': dict(depths=(3, 3, 27, 3), dims=(128, 256, 512, 1024)),
        'L': dict(depths=(3, 3, 27, 3), dims=(192, 384, 768, 1536)),
        'XL': dict(depths=(3, 3, 27, 3), dims=(256, 512, 1024, 2048)),
        'H': dict(depths=(3, 3, 27, 3), dims=(480, 960, 1920, 3840)),
    }

    def __init__(self, arch='T', *, in_channels=3, drop_path_rate=0.0, layer_scale_init_value=1e-6, norm_cfg=None,
                 conv_impl='auto', drb_variant='dilated', extra_structure='se', with_cp=False, deploy=False,
                 out_indices=(-1,), out_norms=True, gap_before_final_norm=False, frozen_stages=0, norm_eval=False,
                 channels_last='auto', init_cfg=None):
        arch = resolve_arch('UniRepLKNet', arch, self.arch_zoo, ('depths', 'dims'), ('kernel_sizes',))
        depths, dims = tuple(arch['depths']), tuple(arch['dims'])
        check_stage_lengths('UniRepLKNet', depths=depths, dims=dims)
        super().__init__(num_stages=len(depths), out_indices=out_indices, out_norms=out_norms,
                         gap_before_final_norm=gap_before_final_norm, frozen_stages=frozen_stages,
                         norm_eval=norm_eval, deploy=deploy, channels_last=channels_last, init_cfg=init_cfg)
        kernel_sizes = arch.get('kernel_sizes') or _SMALL_PATTERN.get(depths)
        if kernel_sizes is None:
            raise ValueError(f'UniRepLKNet: no default kernel sizes for depths {depths}; pass arch=dict(depths=..., '
                             f'dims=..., kernel_sizes=...) (defaults exist for {sorted(_SMALL_PATTERN)})')
        if [len(k) for k in kernel_sizes] != list(depths):
            raise ValueError(f'UniRepLKNet: kernel_sizes {kernel_sizes} do not match depths {depths}')
        self.depths, self.channels, self.kernel_sizes = depths, dims, tuple(tuple(k) for k in kernel_sizes)

        self.downsample_layers = build_downsample_layers(conv_stem(in_channels, dims[0]), dims, conv_norm_downsample)
        self.stages = build_stages(depths, drop_path_rate, lambda i, j, rate: UniRepLKNetBlock(
            dims[i], self.kernel_sizes[i][j], drop_path=rate, layer_scale_init_value=layer_scale_init_value,
            deploy=deploy, with_cp=with_cp, norm_cfg=norm_cfg, conv_impl=conv_impl, drb_variant=drb_variant,
            extra=extra_structure))
        trunc_normal_init(self)
        self._finish_init()
