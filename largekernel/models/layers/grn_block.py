"""The UniRepLKNet block around a token mixer (UniRepLKNet §3.2, Fig. 2; reused by SW-v2, ShiftwiseConv §3.8)."""
import torch
from torch import nn

from .checkpoint import maybe_checkpoint
from .drop import DropPath
from .norm import GRN, build_batch_norm
from .reparam import fold_linear_bn
from .se import SEBlock


class GRNFFNBlock(nn.Module):
    """``x + DropPath(gamma * BN(Linear(GRN(GELU(Linear(SE(norm(mixer(x)))))))))``, FFN ratio ``ffn_ratio``.

    A family passes its token ``mixer`` (registered as ``mixer_name``, so checkpoint keys stay the family's) and the
    ``norm`` after it. In deploy form GRN has no bias, the second linear has one, and there is no FFN BN and no layer
    scale: ``fold_ffn()`` folds them into that linear (spec §3.7 step 3); the family's ``reparameterize()`` merges
    its mixer and calls it.
    """

    def __init__(self, dim, mixer, norm, mixer_name='mixer', ffn_ratio=4, drop_path=0.0,
                 layer_scale_init_value=1e-6, deploy=False, with_cp=False, norm_cfg=None):
        super().__init__()
        self.with_cp = with_cp
        self.mixer_name = mixer_name
        self.add_module(mixer_name, mixer)
        self.norm = norm
        self.se = SEBlock(dim, reduction=4)
        hidden = ffn_ratio * dim
        self.pwconv1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.grn = GRN(hidden, use_bias=not deploy)
        self.pwconv2 = nn.Linear(hidden, dim, bias=deploy)
        self.ffn_norm = None if deploy else build_batch_norm(dim, norm_cfg)
        use_scale = not deploy and layer_scale_init_value is not None and layer_scale_init_value > 0
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale_init_value))) if use_scale else None
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _forward(self, x):
        y = self.se(self.norm(getattr(self, self.mixer_name)(x)))
        y = self.grn(self.act(self.pwconv1(y.permute(0, 2, 3, 1))))
        y = self.pwconv2(y).permute(0, 3, 1, 2)
        if self.ffn_norm is not None:
            y = self.ffn_norm(y)
        if self.gamma is not None:
            y = y * self.gamma.view(1, -1, 1, 1)
        return x + self.drop_path(y)

    def forward(self, x):
        return maybe_checkpoint(self._forward, x, self.with_cp)

    @torch.no_grad()
    def fold_ffn(self):
        """GRN bias + second linear + FFN BN + layer scale -> one biased linear (idempotent)."""
        if self.ffn_norm is None:
            return
        self.pwconv2 = fold_linear_bn(self.pwconv2, self.ffn_norm, self.gamma, self.grn.beta.flatten())
        self.grn.beta = None
        self.ffn_norm = None
        self.gamma = None
