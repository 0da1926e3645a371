"""The UniRepLKNet block around a token mixer (UniRepLKNet §3.2, Fig. 2; reused by SW-v2, ShiftwiseConv §3.8)."""
import torch
from torch import nn

from . import inference
from .blocks import layer_scale, scale_channels
from .checkpoint import maybe_checkpoint
from .drop import DropPath
from .norm import GRN, build_batch_norm, l2_from_square_sums
from .reparam import fold_linear_bn
from .se import SEBlock


class GRNFFNBlock(nn.Module):
    """``x + DropPath(gamma * BN(Linear(GRN(GELU(Linear(SE(norm(mixer(x)))))))))``, FFN ratio ``ffn_ratio``.

    A family passes its token ``mixer`` (registered as ``mixer_name``, so checkpoint keys stay the family's) and the
    ``norm`` after it, and overrides ``reparameterize_mixer()``. In deploy form GRN has no bias, the second linear has
    one, and there is no FFN BN and no layer scale: ``reparameterize()`` merges the mixer, then folds those into that
    linear (UniRepLKNet §3.2, structural re-parameterisation).
    """

    def __init__(self, dim, mixer, norm, *, mixer_name='mixer', ffn_ratio=4, drop_path=0.0,
                 layer_scale_init_value=1e-6, deploy=False, with_cp=False, norm_cfg=None):
        super().__init__()
        self.deploy = deploy
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
        self.gamma = None if deploy else layer_scale(dim, layer_scale_init_value)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def _forward(self, x):
        y = self.norm(getattr(self, self.mixer_name)(x))
        # Eager inference writes into the block's own temporaries instead of allocating new ones (same numbers; on
        # CPU each fresh buffer costs first-touch page faults). Tracing and export see the out-of-place graph.
        inplace = (not torch.is_grad_enabled() and y is not x and not torch.jit.is_tracing()
                   and not torch.onnx.is_in_onnx_export())
        y = self.se(y, inplace=inplace) if isinstance(self.se, SEBlock) else self.se(y)
        if inplace and self.streams(y):
            return self._streamed_ffn(x, y, self.pwconv1.weight, self.pwconv1.bias)
        return self._ffn(x, self.pwconv1(y.permute(0, 2, 3, 1)), inplace)

    def _ffn(self, x, z, inplace):
        """The block after the first linear: ``z`` is its NHWC output, ``x`` the block input."""
        h = self.act(z)
        y = self.pwconv2(self.grn(h, inplace=inplace, workspace=z if inplace and h is not z else None))
        y = y.permute(0, 3, 1, 2)
        if self.ffn_norm is not None:
            y = self.ffn_norm(y)
        y = self.drop_path(scale_channels(y, self.gamma))
        return y.add_(x) if inplace else x + y

    def streams(self, y):
        """Whether eager inference on the mixer output ``y`` (a temporary) takes ``_streamed_ffn``: the deploy form
        in eval mode where ``layers.inference.can_stream`` allows it."""
        return (self.deploy and not self.training
                and inference.can_stream(y, self.pwconv1, self.act, self.grn, self.pwconv2, self.drop_path))

    def _streamed_ffn(self, x, y, weight, bias):
        """``x + pwconv2(GRN(GELU(linear(y, weight, bias))))`` of the deploy form, computed in chunks of whole
        samples (or of one sample's pixels) of at most ``inference.STREAM_CHUNK_BYTES`` of hidden activation, so
        that each chunk's product, GELU and squares meet in the cache: a first pass writes the hidden activation and
        GRN's sums of squares, a second scales each chunk and multiplies it by the second linear. The same
        operations as ``_ffn`` on the same numbers, summed in another order when a sample spans several chunks."""
        n, c, height, width = y.shape
        pixels, hidden = height * width, weight.shape[0]
        rows = max(1, inference.STREAM_CHUNK_BYTES // (hidden * y.element_size()))
        if pixels <= rows:
            chunks = [(slice(i, i + rows // pixels), slice(None)) for i in range(0, n, rows // pixels)]
        else:
            chunks = [(slice(i, i + 1), slice(j, j + rows)) for i in range(n) for j in range(0, pixels, rows)]
        inputs = y.permute(0, 2, 3, 1).reshape(n, pixels, c)  # a view of channels-last y
        h = y.new_empty(n, pixels, hidden)
        squares = y.new_empty(min(n, rows // pixels) * pixels if pixels <= rows else rows, hidden)
        accumulate = torch.float32 if y.dtype == torch.bfloat16 else y.dtype  # as spatial_l2_norm
        sums = y.new_zeros(n, 1, hidden, dtype=accumulate)
        for samples, part in chunks:
            chunk = h[samples, part]
            torch.addmm(bias, inputs[samples, part].flatten(0, 1), weight.t(), out=chunk.view(-1, hidden))
            torch.ops.aten.gelu_(chunk, approximate=self.act.approximate)
            sq = torch.square(chunk, out=squares[:chunk.shape[0] * chunk.shape[1]].view(chunk.shape))
            sums[samples] += sq.sum(1, keepdim=True, dtype=accumulate)
        scale = self.grn.response_scale(l2_from_square_sums(sums), y.dtype)
        out = torch.empty_like(x, memory_format=torch.channels_last)
        outputs = out.permute(0, 2, 3, 1).view(n, pixels, c)
        for samples, part in chunks:
            chunk = h[samples, part].mul_(scale[samples])
            inference.linear_into(outputs[samples, part].view(-1, c), chunk.view(-1, hidden), self.pwconv2)
        return out.add_(x)

    def forward(self, x):
        return maybe_checkpoint(self._forward, x, self.with_cp)

    def reparameterize_mixer(self):
        """Merge the token mixer (and the norm after it, where it folds) into its inference form."""
        raise NotImplementedError(f'{type(self).__name__} must define reparameterize_mixer()')

    @torch.no_grad()
    def reparameterize(self):
        """Merge the mixer, then fold GRN's bias + second linear + FFN BN + layer scale into one biased linear."""
        if self.deploy:
            return
        self.reparameterize_mixer()
        self.pwconv2 = fold_linear_bn(self.pwconv2, self.ffn_norm, self.gamma, self.grn.beta.flatten())
        self.grn.beta = None
        self.ffn_norm = None
        self.gamma = None
        self.deploy = True
