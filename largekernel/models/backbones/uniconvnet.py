"""UniConvNet (Wang et al., "UniConvNet: Expanding Effective Receptive Field while Maintaining Asymptotically
Gaussian Distribution for ConvNets of Any Scale", ICCV 2025, with its supplementary material).

| arch | depths   | dims                  | DCN ch/group |
|------|----------|-----------------------|--------------|
| A    | 2-3-9-2  | 24, 48, 96, 192       | 8            |
| P0   | 2-2-7-2  | 32, 64, 128, 256      | 8            |
| P1   | 2-3-6-3  | 32, 64, 128, 256      | 8            |
| P2   | 3-3-11-3 | 32, 64, 128, 256      | 8            |
| N0   | 2-2-7-2  | 48, 96, 192, 384      | 16           |
| N1   | 2-2-8-3  | 48, 96, 192, 384      | 16           |
| N2   | 3-3-11-3 | 48, 96, 192, 384      | 16           |
| N3   | 3-3-19-3 | 48, 96, 192, 384      | 16           |
| T    | 3-3-15-3 | 64, 128, 256, 512     | 16           |
| S    | 3-3-17-3 | 80, 160, 320, 640     | 16           |
| B    | 4-4-13-4 | 112, 224, 448, 896    | 16           |
| L    | 3-3-18-3 | 160, 320, 640, 1280   | 16           |
| XL   | 3-3-22-3 | 160, 320, 640, 1280   | 16           |

Published params and FLOPs: configs/uniconvnet/metafile.yml (checked by tests/test_uniconvnet.py).
MACs: every conv/linear plus one MAC per DCN sampling point and channel (``DeformableSampling.count_macs``).

A block (supp. C.2) is three pre-norm residual sub-blocks, each with its own layer scale (1e-6) and the
block's shared drop-path rate:
``x = x + DropPath(gamma0 * RFA(x))``; ``x = x + DropPath(gamma1 * DCNv3(LN(x)))``;
``x = x + DropPath(gamma2 * FFN(LN(x)))`` (FFN: Linear(C, 4C) -> GELU -> Linear(4C, C)).
The three-layer RFA (supp. C.2) normalises x, splits it into four channel quarters and runs three layers with
depth-wise kernels 7, 9, 11 whose width grows q -> 2q -> 3q -> 4q = C (see ``RFALayer``). The DCNv3 is the modified
InternImage operator of ``layers/dcnv3.py``: no norm/activation before the offset/mask heads, no softmax on the
mask, zero-initialised offset/mask (the branch outputs 0 at initialisation); C / 8 groups for A-P2 and C / 16 from
N0 up (the two official model files).

Stem (supp. C.1): Conv3x3 s2 (C/2) -> LN -> GELU -> Conv3x3 s2 (C) -> LN; downsampling: LN -> Conv3x3 s2. The
official stem ends in a Dropout whose rate is never set (0); it is left out. No BatchNorm, no re-parameterisable
branch: ``deploy=True`` is accepted for API uniformity and builds the same structure; ``switch_to_deploy()`` changes
nothing. Official checkpoints: tools/model_converters/uniconvnet_to_largekernel.py.
"""
from numbers import Integral

import torch
from torch import nn

from ...registry import MODELS
from ..layers import (DropPath, LayerNorm2d, build_depthwise_conv, build_downsample_layers, build_stages, conv_stem,
                      layer_scale, maybe_checkpoint, norm_conv_downsample, scale_channels)
from ..layers.dcnv3 import DCN_IMPLS, DCNv3
from ..layers.inference import mlp
from .base import LargeKernelBackbone, check_stage_lengths, resolve_arch, trunc_normal_init

RFA_KERNELS = (7, 9, 11)


def _pw(in_channels, out_channels):
    return nn.Conv2d(in_channels, out_channels, 1)


def _dw(channels, kernel_size):
    return build_depthwise_conv(channels, kernel_size, bias=True)  # 'auto': the fast CPU backward without CUDA


class RFALayer(nn.Module):
    """Layer l (1-based) of the three-layer RFA (supp. C.2), on a width-``l * q`` input ``u`` and the next quarter
    ``z`` of the normalised block input (q channels):

    ``a = DW_k(GELU(context_pw(u)))`` (the context, "Amplifier" input); ``m = mix(a * value(u))`` (gated output);
    ``t = local_dw(local_proj(z)) + reduce(a)`` (new small-scale pixels; ``reduce`` is a (l*q -> q) 1x1 conv for
    l > 1 and the identity for l = 1); output ``[t; m]`` of width ``(l + 1) * q``. Layers 2 and 3 first apply a
    LayerNorm over their ``l * q`` input channels (``norm``); layer 1 reads the RFA's own LN output.
    """

    def __init__(self, quarter, level, kernel_size):
        super().__init__()
        width = level * quarter
        self.norm = LayerNorm2d(width, eps=1e-6) if level > 1 else nn.Identity()
        self.context = nn.Sequential(_pw(width, width), nn.GELU(), _dw(width, kernel_size))
        self.value = _pw(width, width)
        self.mix = _pw(width, width)
        self.local_proj = _pw(quarter, quarter)
        self.local_dw = _dw(quarter, 3)
        self.reduce = _pw(width, quarter) if level > 1 else nn.Identity()

    def forward(self, u, z):
        u = self.norm(u)
        a = self.context(u)
        m = self.mix(a * self.value(u))
        t = self.local_dw(self.local_proj(z)) + self.reduce(a)
        return torch.cat((t, m), dim=1)


class RFA(nn.Module):
    """Three-layer Receptive Field Aggregator (supp. C.2): ``LN_C(x)`` split into quarters ``z0..z3``; layer 1 reads
    ``(z0, z1)``, layer l > 1 reads (previous output, ``z_l``); kernels 7, 9, 11. Output width = input width C."""

    def __init__(self, channels):
        super().__init__()
        if channels % 4:
            raise ValueError(f'UniConvNet: the RFA splits channels into 4 quarters; {channels} is not divisible by 4')
        self.quarter = channels // 4
        self.norm = LayerNorm2d(channels, eps=1e-6)
        self.layers = nn.ModuleList(RFALayer(self.quarter, level, k) for level, k in enumerate(RFA_KERNELS, 1))

    def forward(self, x):
        z = torch.split(self.norm(x), self.quarter, dim=1)
        y = z[0]
        for layer, z_next in zip(self.layers, z[1:]):
            y = layer(y, z_next)
        return y


class FFN(nn.Module):
    """Linear(C, rC) -> GELU -> Linear(rC, C) on NHWC tensors (dropout 0 in every official setting)."""

    def __init__(self, channels, ratio=4):
        super().__init__()
        self.fc1 = nn.Linear(channels, ratio * channels)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(ratio * channels, channels)

    def forward(self, x):
        return mlp(x, self.fc1, self.act, self.fc2)


class UniConvNetBlock(nn.Module):
    """RFA, DCNv3 and FFN residual sub-blocks with layer scales ``gamma0/1/2`` (supp. C.2)."""

    def __init__(self, dim, dcn_groups, *, drop_path=0.0, layer_scale_init_value=1e-6, ffn_ratio=4,
                 dcn_impl='grid_sample', with_cp=False):
        super().__init__()
        self.with_cp = with_cp
        self.rfa = RFA(dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.dcn = DCNv3(dim, dcn_groups, impl=dcn_impl)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.ffn = FFN(dim, ffn_ratio)
        for i in range(3):
            self.register_parameter(f'gamma{i}', layer_scale(dim, layer_scale_init_value))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _forward(self, x):
        x = (x + self.drop_path(scale_channels(self.rfa(x), self.gamma0))).permute(0, 2, 3, 1)
        x = x + self.drop_path(scale_channels(self.dcn(self.norm1(x)), self.gamma1, dim=-1))
        x = x + self.drop_path(scale_channels(self.ffn(self.norm2(x)), self.gamma2, dim=-1))
        return x.permute(0, 3, 1, 2)

    def forward(self, x):
        return maybe_checkpoint(self._forward, x, self.with_cp)


@MODELS.register_module()
class UniConvNet(LargeKernelBackbone):
    """UniConvNet backbone (see the module docstring for the variants).

    Args:
        arch (str | dict): ``'A', 'P0', 'P1', 'P2', 'N0', 'N1', 'N2', 'N3', 'T', 'S', 'B', 'L', 'XL'`` or a dict with
            ``depths``, ``dims`` and ``dcn_group_channels`` (channels per DCN group: 8 for A-P2, 16 from N0 up).
        in_channels (int): input image channels.
        drop_path_rate (float): stochastic depth, rising linearly over all blocks (one rate per block, shared by
            its three sub-blocks).
        layer_scale_init_value (float | None): initial value of the three layer scales (1e-6 in every official
            recipe; the official Block's own default 1e-5 is always overridden); None or 0 disables them.
        dcn_impl (str): DCNv3 core, ``'grid_sample'`` or ``'torchvision'`` (layers/dcnv3.py); same weights.
        with_cp (bool): activation checkpointing per block.
        deploy (bool): accepted for API uniformity; UniConvNet has nothing to re-parameterise (same structure).
        norm_eval (bool): must stay False: there is no BatchNorm to keep in eval mode (True raises).
        Others: see ``LargeKernelBackbone``. Classification (mmpretrain): ``out_indices=(3,),
        gap_before_final_norm=True`` + ``LinearClsHead``: ``norm3`` is the official head LayerNorm.

    Layer-wise LR decay (384 fine-tunes): the inherited ``layer_id`` is the ConvNeXt mapping that the official
    code uses (``num_layers=12``): stem 0, stage 0 -> 1, stage 1 and downsampling 1 -> 2, downsampling 2
    -> 3, stage 2 block b -> 3 + b // 3, stage 3 and its downsampling -> 12, out norms -> 13.
    """
    has_batch_norm = False
    arch_zoo = {
        'A': dict(depths=(2, 3, 9, 2), dims=(24, 48, 96, 192), dcn_group_channels=8),
        'P0': dict(depths=(2, 2, 7, 2), dims=(32, 64, 128, 256), dcn_group_channels=8),
        'P1': dict(depths=(2, 3, 6, 3), dims=(32, 64, 128, 256), dcn_group_channels=8),
        'P2': dict(depths=(3, 3, 11, 3), dims=(32, 64, 128, 256), dcn_group_channels=8),
        'N0': dict(depths=(2, 2, 7, 2), dims=(48, 96, 192, 384), dcn_group_channels=16),
        'N1': dict(depths=(2, 2, 8, 3), dims=(48, 96, 192, 384), dcn_group_channels=16),
        'N2': dict(depths=(3, 3, 11, 3), dims=(48, 96, 192, 384), dcn_group_channels=16),
        'N3': dict(depths=(3, 3, 19, 3), dims=(48, 96, 192, 384), dcn_group_channels=16),
        'T': dict(depths=(3, 3, 15, 3), dims=(64, 128, 256, 512), dcn_group_channels=16),
        'S': dict(depths=(3, 3, 17, 3), dims=(80, 160, 320, 640), dcn_group_channels=16),
        'B': dict(depths=(4, 4, 13, 4), dims=(112, 224, 448, 896), dcn_group_channels=16),
        'L': dict(depths=(3, 3, 18, 3), dims=(160, 320, 640, 1280), dcn_group_channels=16),
        'XL': dict(depths=(3, 3, 22, 3), dims=(160, 320, 640, 1280), dcn_group_channels=16),
    }

    def __init__(self, arch='T', *, in_channels=3, drop_path_rate=0.0, layer_scale_init_value=1e-6,
                 dcn_impl='grid_sample', with_cp=False, deploy=False, out_indices=(3,), out_norms=True,
                 gap_before_final_norm=False, frozen_stages=0, norm_eval=False, channels_last='auto', init_cfg=None):
        arch = resolve_arch('UniConvNet', arch, self.arch_zoo, ('depths', 'dims', 'dcn_group_channels'))
        depths, dims, group_channels = tuple(arch['depths']), tuple(arch['dims']), arch['dcn_group_channels']
        check_stage_lengths('UniConvNet', depths=depths, dims=dims)
        if not depths:
            raise ValueError(f'UniConvNet: depths {depths} must be non-empty')
        for name, values in (('depths', depths), ('dims', dims), ('dcn_group_channels', (group_channels,))):
            if any(isinstance(v, bool) or not isinstance(v, Integral) or v <= 0 for v in values):
                raise ValueError(f'UniConvNet: {name} must be positive integers, got {values}')
        bad = [d for d in dims if d % 4 or d % group_channels]
        if bad:
            raise ValueError(f'UniConvNet: dims {bad} of {dims} cannot be split: each must be divisible by 4 (RFA '
                             f'quarters) and by dcn_group_channels={group_channels} (DCNv3 groups)')
        if dims[0] % 2:
            raise ValueError(f'UniConvNet: dims[0]={dims[0]} must be even (the stem first maps to dims[0] // 2)')
        if dcn_impl not in DCN_IMPLS:
            raise ValueError(f'UniConvNet: unknown dcn_impl {dcn_impl!r}; valid: {list(DCN_IMPLS)}')
        super().__init__(num_stages=len(depths), out_indices=out_indices, out_norms=out_norms,
                         gap_before_final_norm=gap_before_final_norm, frozen_stages=frozen_stages,
                         norm_eval=norm_eval, deploy=deploy, channels_last=channels_last, init_cfg=init_cfg)
        self.depths, self.channels, self.dcn_group_channels = depths, dims, group_channels

        self.downsample_layers = build_downsample_layers(
            conv_stem(in_channels, dims[0]), dims, lambda cin, cout: norm_conv_downsample(cin, cout, kernel_size=3))
        self.stages = build_stages(depths, drop_path_rate, lambda i, j, rate: UniConvNetBlock(
            dims[i], dims[i] // group_channels, drop_path=rate, layer_scale_init_value=layer_scale_init_value,
            dcn_impl=dcn_impl, with_cp=with_cp))
        trunc_normal_init(self)
        self._reset_dcns()
        self._finish_init()

    def _reset_dcns(self):
        for m in self.modules():
            if isinstance(m, DCNv3):
                m.reset_parameters()

    def init_weights(self):
        """As the official model: a parent's init_cfg (mmpretrain's TruncNormal over every
        Conv2d/Linear) runs before this, so the DCNv3 offset/mask (zero) and projection (Xavier) initialisation is
        re-applied here, unless the weights come from a checkpoint."""
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained'
        super().init_weights()
        if not pretrained:
            self._reset_dcns()
