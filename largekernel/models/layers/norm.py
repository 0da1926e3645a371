"""Normalisation layers shared by the families."""
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel dimension of an NCHW tensor (ConvNeXt's "channels_first" LN).

    Uses the biased variance, like ``nn.LayerNorm``; equals ``nn.LayerNorm`` applied to the NHWC permutation.
    Ours, not timm's or mmpretrain's ``LayerNorm2d`` (same numerics and keys on 4-D input): it also normalises pooled
    (N, C) features, the out norm after ``gap_before_final_norm``.
    """

    def __init__(self, num_channels, eps=1e-6, elementwise_affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=elementwise_affine)

    def forward(self, x):
        if x.dim() == 2:  # pooled (N, C) features: a plain LayerNorm
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class GRN(nn.Module):
    """Global Response Normalisation on NHWC tensors (ConvNeXt-V2 §3; UniRepLKNet §3.4).

    ``out = (gamma * N(x) + 1) * x + beta`` with ``N(x) = G / (mean_c(G) + eps)`` and ``G`` the spatial L2 norm.
    ``gamma`` and ``beta`` start at zero. ``use_bias=False`` drops ``beta`` (after it was folded into the next
    linear layer during re-parameterisation). Ours, not timm's ``GlobalResponseNorm`` (``weight``/``bias`` of shape
    (C,)) or mmpretrain's ``GRN`` (shape (C,)): the official checkpoints store ``gamma``/``beta`` as (1, 1, 1, C).
    """

    def __init__(self, dim, use_bias=True, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim)) if use_bias else None

    def forward(self, x, inplace=False, workspace=None):
        """``inplace=True`` writes the result into ``x``; ``workspace`` (a tensor of ``x``'s shape and dtype that
        may be overwritten) takes the squares instead of a new buffer. Both are for inference on temporaries. With
        gradients on, eager float32/float64/bfloat16 runs take ``_GRNFunction``'s hand-written backward."""
        if (torch.is_grad_enabled() and x.dtype in _GRN_FUNCTION_DTYPES and not torch.jit.is_tracing()
                and not torch.onnx.is_in_onnx_export() and not torch.compiler.is_compiling()):
            return _GRNFunction.apply(x, self.gamma, self.beta, self.eps)
        scale = self.response_scale(spatial_l2_norm(x, workspace), x.dtype)
        if self.beta is None:
            return x.mul_(scale) if inplace else scale * x
        return torch.addcmul(self.beta, scale, x, out=x) if inplace else torch.addcmul(self.beta, scale, x)

    def response_scale(self, norms, dtype):
        """``gamma * N(x) + 1`` in ``dtype`` from the spatial L2 norms ``norms`` of ``x`` (any shape ending in C)."""
        return _response_scale(self.gamma, norms, self.eps, dtype)


def _response_scale(gamma, norms, eps, dtype):
    n = (norms / (norms.mean(dim=-1, keepdim=True) + eps)).to(dtype)
    return gamma.flatten() * n + 1


_GRN_FUNCTION_DTYPES = (torch.float32, torch.float64, torch.bfloat16)


class _GRNFunction(torch.autograd.Function):
    """GRN's forward, and a backward written out by hand: with ``s = gamma * N + 1`` and ``d = mean_c(G) + eps``,
    ``dx = g s + x k`` with ``k = dG / G`` (zero where the channel's sum of squares was clamped), ``dG = dN / d -
    sum_c(dN G) / (C d^2)`` and ``dN = gamma sum_hw(g x)``. Five passes over the activation (``g x``, its sum, the
    sum of ``g`` for beta, ``g s``, ``+ x k``) where autograd's graph took eight, three of them in the backward of
    the squares. Sums accumulate in float32 for bfloat16."""

    @staticmethod
    def forward(ctx, x, gamma, beta, eps):
        sums = square_sums(x)
        norms = l2_from_square_sums(sums)
        scale = _response_scale(gamma, norms, eps, x.dtype)
        ctx.save_for_backward(x, gamma, sums, norms, scale)
        ctx.eps, ctx.has_beta = eps, beta is not None
        return scale * x if beta is None else torch.addcmul(beta, scale, x)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, gamma, sums, norms, scale = ctx.saved_tensors
        acc = norms.dtype
        d_scale = (grad * x).sum(dim=(1, 2), keepdim=True, dtype=acc)
        denom = norms.mean(dim=-1, keepdim=True) + ctx.eps
        grad_gamma = (d_scale * (norms / denom)).sum(0, keepdim=True).to(gamma.dtype)
        d_n = d_scale * gamma.to(acc)
        d_norms = d_n / denom - (d_n * norms).sum(-1, keepdim=True) / (denom.square() * norms.shape[-1])
        k = torch.where(sums >= torch.finfo(sums.dtype).tiny, d_norms / norms, 0).to(x.dtype)
        grad_x = (grad * scale).addcmul_(x, k)
        grad_beta = grad.sum(dim=(0, 1, 2), keepdim=True, dtype=acc).to(gamma.dtype) if ctx.has_beta else None
        return grad_x, grad_gamma, grad_beta, None


def spatial_l2_norm(x, workspace=None):
    """The L2 norm over dims (1, 2) of an NHWC tensor, shape (N, 1, 1, C); float32 for bfloat16 input. The squares
    go into ``workspace`` when given (same shape and dtype as ``x``).

    ``x.square().sum().sqrt()`` rather than ``torch.linalg.vector_norm``: on CPU the library norm over two
    non-innermost dims was the slowest op of a UniRepLKNet-T forward after the matrix products (``torch.profiler``),
    with the same float32 result up to rounding. float16 keeps ``vector_norm``, which accumulates in float32:
    float16 squares overflow above 256.
    """
    if x.dtype == torch.float16:
        return torch.linalg.vector_norm(x, ord=2, dim=(1, 2), keepdim=True)
    return l2_from_square_sums(square_sums(x, workspace))


def square_sums(x, workspace=None):
    """The sums of squares over dims (1, 2) of an NHWC tensor, (N, 1, 1, C), accumulated in float32 for bfloat16
    input; the squares go into ``workspace`` when given."""
    accumulate = torch.float32 if x.dtype == torch.bfloat16 else None
    squares = x.square() if workspace is None else torch.square(x, out=workspace)
    return squares.sum(dim=(1, 2), keepdim=True, dtype=accumulate)


def l2_from_square_sums(sums):
    """The L2 norms of the sums of squares ``sums``. sqrt's gradient is infinite at 0 (an all-zero channel: NaN
    weights after one step); clamping at the smallest normal float gives such channels vector_norm's zero gradient,
    and changes their norm from 0 to 1e-19."""
    return sums.clamp_min(torch.finfo(sums.dtype).tiny).sqrt()


_BATCH_NORMS = {'BN': nn.BatchNorm2d, 'SyncBN': nn.SyncBatchNorm}


def build_batch_norm(num_features, norm_cfg=None):
    """``nn.BatchNorm2d`` or ``nn.SyncBatchNorm`` from an OpenMMLab-style ``norm_cfg`` (``type``, ``eps``,
    ``momentum``, ``requires_grad``)."""
    cfg = dict(type='BN')
    cfg.update(norm_cfg or {})
    norm_type, requires_grad = cfg.pop('type'), cfg.pop('requires_grad', True)
    if norm_type not in _BATCH_NORMS:
        raise KeyError(f'norm_cfg type {norm_type!r} is not supported here; valid: {sorted(_BATCH_NORMS)}')
    unknown = set(cfg) - {'eps', 'momentum'}
    if unknown:
        raise KeyError(f'unknown norm_cfg keys {sorted(unknown)}; valid: type, eps, momentum, requires_grad')
    layer = _BATCH_NORMS[norm_type](num_features, **cfg)
    layer.requires_grad_(requires_grad)
    return layer
