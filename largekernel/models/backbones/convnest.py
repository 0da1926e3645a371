"""ConvNeSt ("Convolution on your 12x wide feature: a ConvNet with nested design", ICLR 2024 submission; seed 003).

Hierarchical (``ConvNeSt``; ConvNeXt stem/downsampling, strides 4/8/16/32):

| arch | depths   | dims               |
|------|----------|--------------------|
| A    | 2-2-9-2  | 20, 40, 80, 160    |
| F    | 2-2-9-2  | 24, 48, 96, 192    |
| P    | 2-2-9-2  | 32, 64, 128, 256   |
| N    | 2-2-12-2 | 40, 80, 160, 320   |
| T    | 3-3-14-3 | 48, 96, 192, 384   |
| S    | 3-3-24-3 | 56, 112, 224, 448  |
| B    | 3-3-28-3 | 72, 144, 288, 576  |

Isotropic (``ConvNeStIsotropic``; ViT-style 16x16 patchify, 14x14 tokens at 224):

| arch | depth | dim |
|------|-------|-----|
| A    | 13    | 88  |
| F    | 15    | 92  |
| P    | 15    | 120 |
| N    | 15    | 156 |
| T    | 15    | 192 |
| S    | 22    | 192 |
| B    | 22    | 384 |

Published params and FLOPs (§4, Table 4): configs/convnest/metafile.yml (checked by tests/test_convnest.py).

A block (§2, Fig. 2), expansion ratio r = 12, X with C channels:
``H = GELU(PW_{C->rC}(X)); H = H + DW_{7x7}(LN(H)); Y = LN(PW_{rC->C}(GELU(H))); out = s * X + DropPath(Y)``:
pre-activation (GELU before each LN), post-normalisation (the second LN on the low-dimensional output), a nested
dual shortcut (the inner one around LN + depthwise conv in the wide space) and ResScale ``s`` (per-channel, init 1)
on the outer shortcut instead of LayerScale.

No official code was released. Inferred, not stated in the paper: the 7x7 kernel and the ConvNeXt
stem/downsampling/head (the only choice that reproduces every published size); the inner-shortcut endpoints and
the second GELU after the inner add (from a third-party derivative). That derivative
uses ResScale only in stages 3-4; the paper does not restrict it, so ResScale is in every block by default and
``res_scale_init_value=(None, None, 1.0, 1.0)`` gives the derivative's form. There are no official checkpoints,
hence no checkpoint converter.

ConvNeSt has no re-parameterisable branches (both norms are LayerNorms, which cannot be folded): ``deploy=True``
is accepted for API uniformity and builds the same structure; ``switch_to_deploy()`` changes nothing. Only the
BatchNorm ablation (``norms``, Table 3) has something to fold: a BN right after a conv.

Ablations (configs/convnest/ablations/; §2, every run 300 epochs at ConvNeSt-T size, before the ResScale, stage
ratio and dual-shortcut steps of §2.5, i.e. ``res_scale_init_value=None, inner_shortcut=False`` and depths
3-3-8-3 or 3-3-6-3): ``block_variant`` (Table 1), ``expansion_ratio`` with the arch's width and depths (Table 2),
``norms`` (Table 3).
"""
from numbers import Integral, Real

import torch
from torch import nn

from ...registry import MODELS
from ..layers import (DropPath, LayerNorm2d, build_batch_norm, build_depthwise_conv, build_downsample_layers,
                      build_stages, conv_from_kernel, drop_path_rates, fuse_bn, maybe_checkpoint, norm_conv_downsample,
                      patchify_stem, scale_channels)
from .base import LargeKernelBackbone, check_stage_lengths, resolve_arch, trunc_normal_init


# Table 1 (§2.2, Fig. 2): where the GELUs and the two norms sit. 'vanilla' (a): PW -> N -> GELU -> DW -> N -> GELU
# -> PW; 'pre_act' (b): PW -> GELU -> N -> DW -> GELU -> N -> PW; 'post_norm' (c, ConvNeSt): PW -> GELU -> N -> DW ->
# GELU -> PW -> N (the second norm on the low-dimensional output).
BLOCK_VARIANTS = ('post_norm', 'pre_act', 'vanilla')
NORMS = ('LN', 'BN')  # Table 3 (§2.4): LayerNorm or BatchNorm for each of the two norms
# (conv, norm) pairs where the norm directly follows the conv: a BatchNorm there folds into the conv (deploy form)
_FOLDABLE = {'vanilla': (('pwconv1', 'norm1'), ('dwconv', 'norm2')), 'pre_act': (),
             'post_norm': (('pwconv2', 'norm2'),)}


def _check_positive_ints(family, name, values):
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, Integral) or v <= 0]
    if bad or not values:
        raise ValueError(f'{family}: {name} must be non-empty positive integers, got {tuple(values)}')


def _check_block_args(family, kernel_size, expansion_ratio):
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, Integral) or kernel_size < 1 \
            or kernel_size % 2 == 0:
        raise ValueError(f'{family}: kernel_size must be a positive odd integer (7 in the paper), got {kernel_size!r}')
    if isinstance(expansion_ratio, bool) or not isinstance(expansion_ratio, Integral) or expansion_ratio < 1:
        raise ValueError(f'{family}: expansion_ratio must be a positive integer (12 in the paper), '
                         f'got {expansion_ratio!r}')


def _res_scale_values(family, value, num):
    """``res_scale_init_value`` (a number, None, or one entry per stage) as a tuple of ``num`` entries."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * num
    if len(values) != num:
        raise ValueError(f'{family}: res_scale_init_value {value!r} needs one entry per stage ({num})')
    for v in values:
        if v is not None and (isinstance(v, bool) or not isinstance(v, Real)):
            raise TypeError(f'{family}: res_scale_init_value entries must be numbers or None, got {v!r}')
    return values


def _check_block_variant(family, block_variant, inner_shortcut, norms):
    if block_variant not in BLOCK_VARIANTS:
        raise ValueError(f'{family}: unknown block_variant {block_variant!r}; valid: {BLOCK_VARIANTS}')
    if inner_shortcut and block_variant != 'post_norm':
        raise ValueError(f"{family}: inner_shortcut=True needs block_variant='post_norm' (the dual shortcut of §2.5 "
                         f"is defined on the final block), got {block_variant!r}; set inner_shortcut=False")
    if len(tuple(norms)) != 2 or any(n not in NORMS for n in norms):
        raise ValueError(f'{family}: norms must be two of {NORMS} (high-, low-dimensional), got {norms!r}')


class ConvNeStBlock(nn.Module):
    """One ConvNeSt block (§2, Fig. 2); see the module docstring for the dataflow.

    Args:
        dim (int): channels C of the block input and output.
        kernel_size (int): depthwise kernel in the wide space (7).
        expansion_ratio (int): width of the wide space, r * C (12 in the paper).
        drop_path (float): stochastic depth of the residual branch.
        res_scale_init_value (float | None): initial ResScale on the outer shortcut; None: plain identity.
        block_variant (str): Table 1's ``'post_norm'`` (default, Fig. 2c/d), ``'pre_act'`` (2b), ``'vanilla'`` (2a).
        inner_shortcut (bool): the inner shortcut of the dual shortcut (§2.5) around norm1 + depthwise conv.
        norms (tuple[str]): ``'LN'`` or ``'BN'`` for norm1 (high-dimensional) and norm2 (low-dimensional in
            ``'post_norm'``), Table 3.
        deploy (bool): BatchNorms that directly follow a conv are folded into it (``norms`` with ``'BN'`` only;
            ``ConvNeStBNBlock`` re-parameterises the training form).
        with_cp (bool): activation checkpointing.
        conv_impl (str): depthwise conv implementation (``layers.lk_conv``).
    """

    def __init__(self, dim, *, kernel_size=7, expansion_ratio=12, drop_path=0.0, res_scale_init_value=1.0,
                 block_variant='post_norm', inner_shortcut=True, norms=('LN', 'LN'), deploy=False, with_cp=False,
                 conv_impl='auto'):
        super().__init__()
        _check_block_variant('ConvNeStBlock', block_variant, inner_shortcut, norms)
        hidden = expansion_ratio * dim
        self.with_cp = with_cp
        self.block_variant, self.inner_shortcut, self.deploy = block_variant, inner_shortcut, deploy
        self.foldable = tuple((conv, norm) for conv, norm in _FOLDABLE[block_variant]
                              if norms[int(norm[-1]) - 1] == 'BN')
        norm2_channels = dim if block_variant == 'post_norm' else hidden
        self.pwconv1 = nn.Conv2d(dim, hidden, 1)
        self.act1 = nn.GELU()
        self.norm1 = self._norm(norms[0], hidden, 'norm1')
        self.dwconv = build_depthwise_conv(hidden, kernel_size, bias=True, impl=conv_impl)
        self.act2 = nn.GELU()
        self.pwconv2 = nn.Conv2d(hidden, dim, 1)
        self.norm2 = self._norm(norms[1], norm2_channels, 'norm2')
        self.res_scale = None if res_scale_init_value is None else nn.Parameter(
            torch.full((dim,), float(res_scale_init_value)))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _norm(self, kind, channels, name):
        if kind == 'LN':
            return LayerNorm2d(channels, eps=1e-6)
        folded = self.deploy and any(norm == name for _, norm in self.foldable)
        return nn.Identity() if folded else build_batch_norm(channels)

    def _forward(self, x):
        if self.block_variant == 'vanilla':
            h = self.act2(self.norm2(self.dwconv(self.act1(self.norm1(self.pwconv1(x))))))
            y = self.pwconv2(h)
        elif self.block_variant == 'pre_act':
            h = self.norm2(self.act2(self.dwconv(self.norm1(self.act1(self.pwconv1(x))))))
            y = self.pwconv2(h)
        else:
            h = self.act1(self.pwconv1(x))
            h = h + self.dwconv(self.norm1(h)) if self.inner_shortcut else self.dwconv(self.norm1(h))
            y = self.norm2(self.pwconv2(self.act2(h)))
        return scale_channels(x, self.res_scale) + self.drop_path(y)

    def forward(self, x):
        return maybe_checkpoint(self._forward, x, self.with_cp)


class ConvNeStBNBlock(ConvNeStBlock):
    """A ``ConvNeStBlock`` with a BatchNorm among its ``norms`` (Table 3): re-parameterisable, the BNs that directly
    follow a conv fold into it."""

    @torch.no_grad()
    def reparameterize(self):
        """Fold each BatchNorm that directly follows a conv into it (the other norms stay)."""
        if self.deploy:
            return
        for conv_name, norm_name in self.foldable:
            conv = getattr(self, conv_name)
            setattr(self, conv_name, conv_from_kernel(*fuse_bn(conv.weight, conv.bias, getattr(self, norm_name)),
                                                      like=conv))
            setattr(self, norm_name, nn.Identity())
        self.deploy = True


@MODELS.register_module()
class ConvNeSt(LargeKernelBackbone):
    """Hierarchical ConvNeSt backbone (see the module docstring for the variants).

    Stem ``Conv4x4/4 -> LN``; before stages 2-4 ``LN -> Conv2x2/2`` (ConvNeXt). For classification use
    ``gap_before_final_norm=True, out_indices=(3,)`` with ``LinearClsHead``: ``norm3`` is the head's LayerNorm.

    Args:
        arch (str | dict): ``'A', 'F', 'P', 'N', 'T', 'S', 'B'`` or a dict with ``depths`` and ``dims``.
        in_channels (int): input channels.
        kernel_size (int): depthwise kernel size (7).
        expansion_ratio (int): r (12 for every published variant; Table 2 sweeps 4-16).
        res_scale_init_value (float | None | sequence): ResScale init, for all stages or one entry per stage
            (None disables it there); ``(None, None, 1.0, 1.0)`` is the third-party derivative's choice.
        block_variant (str): Table 1: ``'post_norm'`` (default), ``'pre_act'``, ``'vanilla'`` (see
            ``ConvNeStBlock``); the latter two need ``inner_shortcut=False``.
        inner_shortcut (bool): the inner shortcut of the dual shortcut (§2.5; True). Tables 1-3 predate it.
        norms (tuple[str]): Table 3: ``'LN'``/``'BN'`` for the high- and the low-dimensional norm (``('LN', 'LN')``).
        drop_path_rate (float): stochastic depth, rising linearly over all blocks.
        conv_impl (str): ``'auto'``, ``'native'``, ``'cpu'``, ``'igemm'`` or ``'triton'`` for the depthwise convs
            (layers.lk_conv).
        with_cp (bool): activation checkpointing per block.
        deploy (bool): the BatchNorms of ``norms`` that follow a conv are folded; otherwise accepted for API
            uniformity (nothing to re-parameterise, the structure is the same).
        norm_eval (bool): must stay False unless ``norms`` has a BatchNorm (True raises).
        channels_last (bool | str): False by default, unlike the other families' ``'auto'``: on CPU channels-last
            ran ConvNeSt-T's deploy form 0.95-0.99x as fast and trained it equally fast.
        Others: see ``LargeKernelBackbone`` (``layer_id`` is its ConvNeXt 4-stage mapping; the paper's ImageNet
        recipes use no layer decay).
    """
    has_batch_norm = False
    arch_zoo = {
        'A': dict(depths=(2, 2, 9, 2), dims=(20, 40, 80, 160)),
        'F': dict(depths=(2, 2, 9, 2), dims=(24, 48, 96, 192)),
        'P': dict(depths=(2, 2, 9, 2), dims=(32, 64, 128, 256)),
        'N': dict(depths=(2, 2, 12, 2), dims=(40, 80, 160, 320)),
        'T': dict(depths=(3, 3, 14, 3), dims=(48, 96, 192, 384)),
        'S': dict(depths=(3, 3, 24, 3), dims=(56, 112, 224, 448)),
        'B': dict(depths=(3, 3, 28, 3), dims=(72, 144, 288, 576)),
    }

    def __init__(self, arch='T', *, in_channels=3, kernel_size=7, expansion_ratio=12, res_scale_init_value=1.0,
                 block_variant='post_norm', inner_shortcut=True, norms=('LN', 'LN'), drop_path_rate=0.0,
                 conv_impl='auto', with_cp=False, deploy=False, out_indices=(3,), out_norms=True,
                 gap_before_final_norm=False, frozen_stages=0, norm_eval=False, channels_last=False, init_cfg=None):
        _check_block_variant('ConvNeSt', block_variant, inner_shortcut, norms)
        if 'BN' in norms:
            self.has_batch_norm = True  # the Table 3 ablation: norm_eval applies
        arch = resolve_arch('ConvNeSt', arch, self.arch_zoo, ('depths', 'dims'))
        depths, dims = tuple(arch['depths']), tuple(arch['dims'])
        _check_positive_ints('ConvNeSt', 'depths', depths)
        _check_positive_ints('ConvNeSt', 'dims', dims)
        check_stage_lengths('ConvNeSt', depths=depths, dims=dims)
        _check_block_args('ConvNeSt', kernel_size, expansion_ratio)
        res_scales = _res_scale_values('ConvNeSt', res_scale_init_value, len(depths))
        super().__init__(num_stages=len(depths), out_indices=out_indices, out_norms=out_norms,
                         gap_before_final_norm=gap_before_final_norm, frozen_stages=frozen_stages,
                         norm_eval=norm_eval, deploy=deploy, channels_last=channels_last, init_cfg=init_cfg)
        self.depths, self.channels = depths, dims

        self.downsample_layers = build_downsample_layers(patchify_stem(in_channels, dims[0]), dims,
                                                         norm_conv_downsample)
        block = ConvNeStBNBlock if 'BN' in norms else ConvNeStBlock
        self.stages = build_stages(depths, drop_path_rate, lambda i, j, rate: block(
            dims[i], kernel_size=kernel_size, expansion_ratio=expansion_ratio, drop_path=rate,
            res_scale_init_value=res_scales[i], block_variant=block_variant, inner_shortcut=inner_shortcut,
            norms=tuple(norms), deploy=deploy, with_cp=with_cp, conv_impl=conv_impl))
        trunc_normal_init(self)
        self._finish_init()


@MODELS.register_module()
class ConvNeStIsotropic(LargeKernelBackbone):
    """Isotropic (ViT-style) ConvNeSt: a ``patch_size`` patchify conv, then ``depth`` blocks at constant width.

    Fitting the shared API: every block is one "stage" (``stages[i]`` is block ``i``; ``downsample_layers[0]`` is
    the patchify conv, the others are identities), so

    - ``out_indices`` index blocks (default ``(-1,)``: the last one); all outputs have stride ``patch_size``;
    - ``frozen_stages=k`` freezes the patchify conv and the first ``k`` blocks (mmpretrain ViT convention);
    - classification: ``gap_before_final_norm=True, out_indices=(-1,)`` with ``LinearClsHead``; the out norm
      ``norm{depth-1}`` is the head's LayerNorm (ConvNeXt-isotropic: GAP -> LN -> Linear);
    - ``layer_id``: patchify 0, block ``i`` -> ``i + 1`` (needs ``num_layers == depth``), others ``depth + 1``.

    Args:
        arch (str | dict): ``'A', 'F', 'P', 'N', 'T', 'S', 'B'`` or a dict with ``depth`` and ``dim``.
        patch_size (int): patchify kernel and stride (16 in the paper).
        Others: as in ``ConvNeSt`` (``res_scale_init_value`` is a single value here).
    """
    has_batch_norm = False
    arch_zoo = {
        'A': dict(depth=13, dim=88),
        'F': dict(depth=15, dim=92),
        'P': dict(depth=15, dim=120),
        'N': dict(depth=15, dim=156),
        'T': dict(depth=15, dim=192),
        'S': dict(depth=22, dim=192),
        'B': dict(depth=22, dim=384),
    }

    def __init__(self, arch='T', *, in_channels=3, patch_size=16, kernel_size=7, expansion_ratio=12,
                 res_scale_init_value=1.0, drop_path_rate=0.0, conv_impl='auto', with_cp=False, deploy=False,
                 out_indices=(-1,), out_norms=True, gap_before_final_norm=False, frozen_stages=0, norm_eval=False,
                 channels_last=False, init_cfg=None):
        arch = resolve_arch('ConvNeStIsotropic', arch, self.arch_zoo, ('depth', 'dim'))
        depth, dim = arch['depth'], arch['dim']
        _check_positive_ints('ConvNeStIsotropic', 'depth and dim', (depth, dim))
        _check_positive_ints('ConvNeStIsotropic', 'patch_size', (patch_size,))
        _check_block_args('ConvNeStIsotropic', kernel_size, expansion_ratio)
        if isinstance(res_scale_init_value, (list, tuple)):
            raise TypeError(f'ConvNeStIsotropic: res_scale_init_value must be one number or None (there are no '
                            f'stages), got {res_scale_init_value!r}')
        (res_scale,) = _res_scale_values('ConvNeStIsotropic', res_scale_init_value, 1)
        super().__init__(num_stages=depth, out_indices=out_indices, out_norms=out_norms,
                         gap_before_final_norm=gap_before_final_norm, frozen_stages=frozen_stages,
                         norm_eval=norm_eval, deploy=deploy, channels_last=channels_last, init_cfg=init_cfg)
        self.depth, self.channels = depth, (dim,) * depth

        self.downsample_layers = nn.ModuleList(
            [nn.Conv2d(in_channels, dim, patch_size, patch_size)] + [nn.Identity() for _ in range(depth - 1)])
        (rates,) = drop_path_rates(drop_path_rate, (depth,))
        self.stages = nn.ModuleList(
            ConvNeStBlock(dim, kernel_size=kernel_size, expansion_ratio=expansion_ratio, drop_path=rates[i],
                          res_scale_init_value=res_scale, with_cp=with_cp, conv_impl=conv_impl)
            for i in range(depth))
        trunc_normal_init(self)
        self._finish_init()

    def layer_id(self, name, num_layers):
        """Block-wise layer decay (BEiT/ViT convention): patchify 0, block ``i`` -> ``i + 1``, rest last."""
        if num_layers != self.depth:
            raise ValueError(f'ConvNeStIsotropic.layer_id: num_layers={num_layers} must equal depth {self.depth}')
        parts = name.split('.')
        if parts[0] == 'downsample_layers':
            return 0
        if parts[0] == 'stages':
            return int(parts[1]) + 1
        return num_layers + 1
