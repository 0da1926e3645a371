"""RepLKNet (Ding et al., "Scaling Up Your Kernels to 31x31: Revisiting Large Kernel Design in CNNs", CVPR 2022).

| arch | large kernels  | small | pairs    | channels             | dw   |
|------|----------------|-------|----------|----------------------|------|
| 31B  | 31, 29, 27, 13 | 5     | 2-2-18-2 | 128, 256, 512, 1024  | 1    |
| 31L  | 31, 29, 27, 13 | 5     | 2-2-18-2 | 192, 384, 768, 1536  | 1    |
| XL   | 27, 27, 27, 13 | none  | 2-2-18-2 | 256, 512, 1024, 2048 | 1.5  |

Published params and FLOPs: configs/replknet/metafile.yml (checked by tests/test_replknet.py); the README counts
the params of the training form with a 1000-class head and reports as "FLOPs" the MACs of the deploy form.

Structure (§3.3, Fig. 4): a stem (3x3 conv s2, 3x3 DW, 1x1, 3x3 DW s2, each conv-BN-ReLU), four
stages of [RepLK block, ConvFFN block] pairs and transitions (1x1 conv then 3x3 DW conv s2) in between.
RepLK block: ``x + DropPath(pw2(ReLU(LK(pw1(BN(x))))))``, where LK is a K x K depthwise conv with a parallel k x k
depthwise conv (both with BN) that is merged into the large kernel for inference (§3, guideline 3).
ConvFFN block: ``x + DropPath(pw2(GELU(pw1(BN(x)))))`` with a 4x hidden width. Classification head: BN -> GAP ->
Linear; here the BN is the per-output norm (``norm3``) and the GAP is mmpretrain's ``GlobalAveragePooling`` neck.

Layout: ``downsample_layers[0]`` is the stem and ``downsample_layers[i]`` (i >= 1) the transition before stage i;
``stages[i]`` is the sequence of 2 * depth blocks (the official ``stages.i.blocks``), so official checkpoints map
key by key (``largekernel.models.converters.replknet``).

Deploy form: the official ``small_kernel_merged=True`` (large + small kernels merged into one biased K x K kernel)
plus the official optional ``deep_fuse_BN()`` (every conv-BN unit folded into a biased conv). The pre-BNs and the
head BN stay, as in the official code.

Paper vs code: initialisation follows the official code (PyTorch defaults; mmpretrain uses Kaiming + BN weight 1).
The official code uses SyncBN everywhere by default; here ``norm_cfg=dict(type='SyncBN')`` opts in.
"""
import torch
from torch import nn

from ...registry import MODELS
from ..layers import (ConvBN, DropPath, branch_impl, build_batch_norm, build_depthwise_conv, build_downsample_layers,
                      conv_from_kernel, drop_path_rates, maybe_checkpoint, pad_kernel)
from .base import LargeKernelBackbone, check_stage_lengths, resolve_arch


def check_kernel_sizes(kernel_size, small_kernel):
    """RepLKNet needs odd 'same'-padded kernels and a small kernel that centres inside the large one."""
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'RepLKNet: large kernel size {kernel_size!r} must be a positive odd int (e.g. 31, 27, 13)')
    if small_kernel is None:
        return
    if not isinstance(small_kernel, int) or small_kernel < 1 or small_kernel % 2 == 0:
        raise ValueError(f'RepLKNet: small kernel size {small_kernel!r} must be a positive odd int (e.g. 5) or None')
    if small_kernel > kernel_size:
        raise ValueError(f'RepLKNet: small kernel {small_kernel} is larger than the large kernel {kernel_size}; it '
                         f'must be <= {kernel_size} to be merged into it')


class ReparamLargeKernelConv(nn.Module):
    """K x K depthwise conv + BN with a parallel k x k depthwise conv + BN (§3, guideline 3).

    ``small_kernel=None`` keeps only the large branch (RepLKNet-XL). ``reparameterize()`` folds both BNs, zero-pads
    the small kernel to K x K and leaves one biased K x K conv ``lkb_reparam``.
    """

    def __init__(self, channels, kernel_size, small_kernel, *, deploy=False, norm_cfg=None, conv_impl='auto'):
        super().__init__()
        check_kernel_sizes(kernel_size, small_kernel)
        self.deploy = deploy
        self.kernel_size, self.small_kernel = kernel_size, small_kernel
        if deploy:
            self.lkb_reparam = build_depthwise_conv(channels, kernel_size, bias=True, impl=conv_impl)
            return
        self.lkb_origin = ConvBN(channels, channels, kernel_size, norm_cfg=norm_cfg,
                                 conv=build_depthwise_conv(channels, kernel_size, bias=False, impl=conv_impl))
        if small_kernel is not None:
            self.small_conv = ConvBN(channels, channels, small_kernel, norm_cfg=norm_cfg, conv=build_depthwise_conv(
                channels, small_kernel, impl=branch_impl(conv_impl)))

    def forward(self, x):
        if self.deploy:
            return self.lkb_reparam(x)
        out = self.lkb_origin(x)
        if self.small_kernel is not None:
            out = out + self.small_conv(x)
        return out

    @torch.no_grad()
    def reparameterize(self):
        if self.deploy:
            return
        kernel, bias = self.lkb_origin.fused()
        if self.small_kernel is not None:
            small, small_bias = self.small_conv.fused()
            kernel = kernel + pad_kernel(small, self.kernel_size)
            bias = bias + small_bias
            del self.small_conv
        self.lkb_reparam = conv_from_kernel(kernel, bias, like=self.lkb_origin.conv)
        del self.lkb_origin
        self.deploy = True


class RepLKBlock(nn.Module):
    """RepLK block (§3.3, Fig. 4): ``x + DropPath(pw2(ReLU(LK(pw1(BN(x))))))``; pw1 is conv-BN-ReLU C -> D."""

    def __init__(self, channels, dw_channels, kernel_size, small_kernel, *, drop_path=0.0, deploy=False,
                 with_cp=False, norm_cfg=None, conv_impl='auto'):
        super().__init__()
        self.with_cp = with_cp
        self.prelkb_bn = build_batch_norm(channels, norm_cfg)
        self.pw1 = ConvBN(channels, dw_channels, 1, act=nn.ReLU(), deploy=deploy, norm_cfg=norm_cfg)
        self.large_kernel = ReparamLargeKernelConv(dw_channels, kernel_size, small_kernel, deploy=deploy,
                                                   norm_cfg=norm_cfg, conv_impl=conv_impl)
        self.lk_nonlinear = nn.ReLU()
        self.pw2 = ConvBN(dw_channels, channels, 1, deploy=deploy, norm_cfg=norm_cfg)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _forward(self, x):
        y = self.pw2(self.lk_nonlinear(self.large_kernel(self.pw1(self.prelkb_bn(x)))))
        return x + self.drop_path(y)

    def forward(self, x):
        return maybe_checkpoint(self._forward, x, self.with_cp)


class ConvFFN(nn.Module):
    """ConvFFN block (§3.3): ``x + DropPath(pw2(GELU(pw1(BN(x)))))`` with 1x1 conv-BN units C -> hidden -> C."""

    def __init__(self, channels, hidden_channels, *, drop_path=0.0, deploy=False, with_cp=False, norm_cfg=None):
        super().__init__()
        self.with_cp = with_cp
        self.preffn_bn = build_batch_norm(channels, norm_cfg)
        self.pw1 = ConvBN(channels, hidden_channels, 1, deploy=deploy, norm_cfg=norm_cfg)
        self.nonlinear = nn.GELU()
        self.pw2 = ConvBN(hidden_channels, channels, 1, deploy=deploy, norm_cfg=norm_cfg)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _forward(self, x):
        return x + self.drop_path(self.pw2(self.nonlinear(self.pw1(self.preffn_bn(x)))))

    def forward(self, x):
        return maybe_checkpoint(self._forward, x, self.with_cp)


@MODELS.register_module()
class RepLKNet(LargeKernelBackbone):
    """RepLKNet backbone (see the module docstring for the variants).

    Args:
        arch (str | dict): ``'31B'``, ``'31L'``, ``'XL'`` or a dict with ``large_kernel_sizes``, ``layers`` (pairs
            per stage), ``channels``, ``small_kernel`` (odd int or None) and optionally ``dw_ratio`` (default 1);
            the same keys as mmpretrain's ``arch_settings``.
        in_channels (int): input channels.
        drop_path_rate (float): stochastic depth, rising linearly over the pairs; a RepLK block and the ConvFFN
            after it share one rate.
        ffn_ratio (float): ConvFFN hidden width ratio (4 in every published model).
        norm_cfg (dict): the BatchNorm of every layer (``dict(type='SyncBN')`` as in the official code).
        conv_impl (str): ``'auto'``, ``'native'``, ``'cpu'``, ``'igemm'`` or ``'triton'`` for the K x K depthwise convs
            (layers.lk_conv).
        with_cp (bool): activation checkpointing of every block and of stem layers 2-4 (official
            ``use_checkpoint``).
        deploy (bool): build the re-parameterised inference form directly (module docstring).
        out_norms (bool): a BatchNorm ``norm{i}`` for every output: the head BN for classification
            (``out_indices=(3,)``), the official ``norm_intermediate_features`` for dense prediction (XL).
        gap_before_final_norm (bool): must stay False: the head BN acts before pooling, so pair this backbone with
            mmpretrain's ``GlobalAveragePooling`` neck.
        Others: see ``LargeKernelBackbone``.
    """
    arch_zoo = {
        '31B': dict(large_kernel_sizes=(31, 29, 27, 13), layers=(2, 2, 18, 2), channels=(128, 256, 512, 1024),
                    small_kernel=5, dw_ratio=1),
        '31L': dict(large_kernel_sizes=(31, 29, 27, 13), layers=(2, 2, 18, 2), channels=(192, 384, 768, 1536),
                    small_kernel=5, dw_ratio=1),
        'XL': dict(large_kernel_sizes=(27, 27, 27, 13), layers=(2, 2, 18, 2), channels=(256, 512, 1024, 2048),
                   small_kernel=None, dw_ratio=1.5),
    }

    def __init__(self, arch='31B', *, in_channels=3, drop_path_rate=0.0, ffn_ratio=4, norm_cfg=None,
                 conv_impl='auto', with_cp=False, deploy=False, out_indices=(3,), out_norms=True,
                 gap_before_final_norm=False, frozen_stages=0, norm_eval=False, channels_last='auto', init_cfg=None):
        arch = resolve_arch('RepLKNet', arch, self.arch_zoo,
                            ('large_kernel_sizes', 'layers', 'channels', 'small_kernel'), ('dw_ratio',))
        kernels, layers, channels = tuple(arch['large_kernel_sizes']), tuple(arch['layers']), tuple(arch['channels'])
        small_kernel, dw_ratio = arch['small_kernel'], arch.get('dw_ratio', 1)
        check_stage_lengths('RepLKNet', large_kernel_sizes=kernels, layers=layers, channels=channels)
        for k in kernels:
            check_kernel_sizes(k, small_kernel)
        if min(int(c * dw_ratio) for c in channels) < 1 or min(int(c * ffn_ratio) for c in channels) < 1:
            raise ValueError(f'RepLKNet: dw_ratio {dw_ratio} / ffn_ratio {ffn_ratio} give empty layers for channels '
                             f'{channels}')
        if gap_before_final_norm:
            raise ValueError('RepLKNet: gap_before_final_norm=True is not supported: the head BatchNorm acts before '
                             'pooling; use gap_before_final_norm=False with neck=dict(type="GlobalAveragePooling")')
        super().__init__(num_stages=len(layers), out_indices=out_indices, out_norms=out_norms,
                         gap_before_final_norm=gap_before_final_norm, frozen_stages=frozen_stages,
                         norm_eval=norm_eval, deploy=deploy, channels_last=channels_last, init_cfg=init_cfg)
        self.layers, self.channels, self.large_kernel_sizes = layers, channels, kernels
        self.small_kernel, self.dw_ratio, self.norm_cfg, self.with_cp = small_kernel, dw_ratio, norm_cfg, with_cp

        def conv_bn_relu(cin, cout, k, stride=1, groups=1):
            return ConvBN(cin, cout, k, stride=stride, groups=groups, act=nn.ReLU(), deploy=deploy,
                          norm_cfg=norm_cfg)

        c0 = channels[0]
        stem = nn.Sequential(conv_bn_relu(in_channels, c0, 3, 2), conv_bn_relu(c0, c0, 3, groups=c0),
                             conv_bn_relu(c0, c0, 1), conv_bn_relu(c0, c0, 3, 2, groups=c0))
        self.downsample_layers = build_downsample_layers(stem, channels, lambda cin, cout: nn.Sequential(
            conv_bn_relu(cin, cout, 1), conv_bn_relu(cout, cout, 3, 2, groups=cout)))
        rates = drop_path_rates(drop_path_rate, layers)
        self.stages = nn.ModuleList()
        for i, c in enumerate(channels):
            blocks = []
            for rate in rates[i]:  # a RepLK block and the ConvFFN after it share one rate
                blocks.append(RepLKBlock(c, int(c * dw_ratio), kernels[i], small_kernel, drop_path=rate,
                                         deploy=deploy, with_cp=with_cp, norm_cfg=norm_cfg, conv_impl=conv_impl))
                blocks.append(ConvFFN(c, int(c * ffn_ratio), drop_path=rate, deploy=deploy, with_cp=with_cp,
                                      norm_cfg=norm_cfg))
            self.stages.append(nn.Sequential(*blocks))
        self._finish_init()

    def out_norm_layer(self, channels):
        return build_batch_norm(channels, self.norm_cfg)

    def forward_stage(self, i, x):
        if i == 0 and self.with_cp:  # official use_checkpoint: stem layers 2-4 are checkpointed too
            stem = self.downsample_layers[0]
            x = stem[0](x)
            for layer in stem[1:]:
                x = maybe_checkpoint(layer, x, True)
            return self.stages[0](x)
        return super().forward_stage(i, x)

    def layer_id(self, name, num_layers):
        """RepLKNet's layer-decay groups (official ``get_num_layer_for_replknet``, 14 groups for num_layers=12):
        stem 0; stage 0 and the transition after it 1; stage 1 and its transition 2; stage-2 block entry b
        (RepLK and ConvFFN entries counted separately) ``3 + b // 4``, capped at ``num_layers - 1``; the transition
        after stage 2 ``num_layers - 1`` (11); stage 3 ``num_layers`` (12); out norms (head BN) ``num_layers + 1``.
        With ``num_layers=4`` this becomes stage-wise decay (stem 0, stage i -> i + 1, head 5), the XL recipe.
        Our ``downsample_layers[i]`` (i >= 1) is the official ``transitions[i - 1]``. ``num_layers < 4`` would merge
        stages (the official code then silently reorders the groups) and raises."""
        if num_layers < 4:
            raise ValueError(f'RepLKNet.layer_id: num_layers={num_layers} is too small; RepLKNet\'s mapping needs '
                             'num_layers >= 4 (4 = stage-wise decay)')
        parts = name.split('.')
        if parts[0] == 'downsample_layers':
            i = int(parts[1])
            return 0 if i == 0 else min(i, num_layers - 1) if i < 3 else num_layers - 1
        if parts[0] == 'stages':
            stage, block = int(parts[1]), int(parts[2])
            if stage == self.num_stages - 1:
                return num_layers
            if stage < 2:
                return stage + 1
            return min(3 + block // 4, num_layers - 1)
        return num_layers + 1
