"""Building blocks shared by every family. Plain ``nn.Module``s: nothing here is registered."""
from .checkpoint import maybe_checkpoint
from .drop import DropPath, drop_path, drop_path_rates
from .lk_conv import build_depthwise_conv
from .norm import GRN, LayerNorm2d, build_batch_norm
from .reparam import ConvBN, dilated_to_dense, fold_linear_bn, fuse_bn, pad_kernel
from .se import SEBlock

__all__ = [
    'ConvBN', 'DropPath', 'GRN', 'LayerNorm2d', 'SEBlock', 'build_batch_norm', 'build_depthwise_conv',
    'dilated_to_dense', 'drop_path', 'drop_path_rates', 'fold_linear_bn', 'fuse_bn', 'maybe_checkpoint', 'pad_kernel'
]
