from .base import LargeKernelBackbone
from .convnest import ConvNeSt, ConvNeStIsotropic
from .replknet import RepLKNet
from .shiftwise import ShiftWise
from .slak import SLaK
from .uniconvnet import UniConvNet
from .unireplknet import UniRepLKNet

__all__ = ['ConvNeSt', 'ConvNeStIsotropic', 'LargeKernelBackbone', 'RepLKNet', 'SLaK', 'ShiftWise', 'UniConvNet',
           'UniRepLKNet']
