"""The head of UniRepLKNet's audio models (UniRepLKNet §4.2, Table 8): LayerNorm + Linear on the pooled, normalised
backbone features, as the official audio model's ``mlp_head`` (AST's head). One class per mmpretrain head type:
single-label (Speech Commands V2, trained with BCE) and multi-label (AudioSet)."""
from mmpretrain.models.heads import LinearClsHead, MultiLabelLinearClsHead
from torch import nn

from ...registry import MODELS


class _NormBeforeLinear:
    """A LayerNorm on the last feature before the head's linear layer."""

    def __init__(self, num_classes, in_channels, *, norm_eps=1e-5, **kwargs):
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        self.norm = nn.LayerNorm(in_channels, eps=norm_eps)

    def pre_logits(self, feats):
        return self.norm(feats[-1])


@MODELS.register_module()
class NormLinearClsHead(_NormBeforeLinear, LinearClsHead):
    """``Linear(LayerNorm(x))`` on the last feature (``LinearClsHead`` with a LayerNorm in front)."""


@MODELS.register_module()
class NormLinearMultiLabelClsHead(_NormBeforeLinear, MultiLabelLinearClsHead):
    """``Linear(LayerNorm(x))`` on the last feature, multi-label (``MultiLabelLinearClsHead`` with a LayerNorm)."""
