"""Building blocks shared by every family. Plain ``nn.Module``s and builders: nothing here is registered."""
from .blocks import (build_downsample_layers, build_stages, conv_norm_downsample, conv_stem, layer_scale,
                     norm_conv_downsample, patchify_stem, scale_channels)
from .checkpoint import maybe_checkpoint
from .drop import DropPath, drop_path_rates
from .lk_conv import branch_impl, build_depthwise_conv, log_conv_impls
from .norm import GRN, LayerNorm2d, build_batch_norm
from .reparam import ConvBN, conv_from_kernel, dilated_to_dense, fold_linear_bn, fuse_bn, pad_kernel
from .se import SEBlock

__all__ = [
    'ConvBN', 'DropPath', 'GRN', 'LayerNorm2d', 'SEBlock', 'branch_impl', 'build_batch_norm', 'build_depthwise_conv',
    'build_downsample_layers', 'build_stages', 'conv_from_kernel', 'conv_norm_downsample', 'conv_stem',
    'dilated_to_dense', 'drop_path_rates', 'fold_linear_bn', 'fuse_bn', 'layer_scale', 'log_conv_impls',
    'maybe_checkpoint', 'norm_conv_downsample', 'pad_kernel', 'patchify_stem', 'scale_channels'
]
