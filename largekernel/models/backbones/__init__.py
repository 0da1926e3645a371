from .base import LargeKernelBackbone
from .unireplknet import UniRepLKNet

__all__ = ['LargeKernelBackbone', 'UniRepLKNet']
