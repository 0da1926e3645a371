from .base import LargeKernelBackbone
from .convnest import ConvNeSt, ConvNeStIsotropic
from .replknet import RepLKNet
from .unireplknet import UniRepLKNet

__all__ = ['ConvNeSt', 'ConvNeStIsotropic', 'LargeKernelBackbone', 'RepLKNet', 'UniRepLKNet']
