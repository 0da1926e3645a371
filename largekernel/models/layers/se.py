"""Squeeze-and-Excitation block (Hu et al.), as used by UniRepLKNet §3.4."""
import torch.nn.functional as F
from torch import nn


class SEBlock(nn.Module):
    """Global pool -> 1x1 conv ``C -> C // reduction`` -> ReLU -> 1x1 conv back -> sigmoid gate."""

    def __init__(self, channels, reduction=4):
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(f'SEBlock: {channels} channels cannot be reduced by {reduction}')
        self.down = nn.Conv2d(channels, hidden, 1)
        self.up = nn.Conv2d(hidden, channels, 1)

    def forward(self, x, inplace=False):
        """``inplace=True`` gates ``x`` in place (for inference on a temporary ``x``)."""
        s = self.gate(F.adaptive_avg_pool2d(x, 1))
        return x.mul_(s) if inplace else x * s

    def gate(self, pooled):
        """The (N, C, 1, 1) sigmoid gate of the pooled (N, C, 1, 1) input."""
        return self.up(F.relu(self.down(pooled), inplace=True)).sigmoid()
