"""The Corrformer decoder that UniRepLKNet keeps for time-series forecasting (UniRepLKNet §4.2: "we use its embedding
layer and decoder and only replace its encoder transformer with UniRepLKNet-S"; Corrformer, Wu et al., Nature
Machine Intelligence 2023, §Methods "multi-correlation").

The decoder reads ``B*n`` node series (``n`` nodes on a tree of ``node_list`` levels, each node a group of adjacent
stations) and the backbone's output as its cross input (the memory). One decoder layer:

    x = x + MultiCorrelation(x, x);         x, t1 = decomp(x)
    x = x + MultiCorrelation(x, memory);    x, t2 = decomp(x)
    x = x + FFN(x);                         x, t3 = decomp(x)
    trend += Conv1d_k3(t1 + t2 + t3)

MultiCorrelation = auto-correlation on the leaf nodes (time-delay aggregation, Autoformer style) + cross-correlation
between the nodes of every tree level (delays aligned to the level's mean series, a causal TCN fused over the nodes
sorted by delay), averaged over levels. The output is ``projection(norm(x))`` (seasonal part) and the trend.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ...registry import MODELS


def roll_time(values, shift):
    """``values[..., (t + shift) mod L]`` along the last axis; ``shift`` has ``values``' leading shape minus any
    trailing axes it broadcasts over (integer tensor)."""
    length = values.shape[-1]
    index = (torch.arange(length, device=values.device) + shift.unsqueeze(-1)) % length
    return torch.gather(values, -1, index.expand_as(values))


def fit_length(tensor, length, dim):
    """Zero-pad or cut ``tensor`` along ``dim`` to ``length`` (the keys/values of a correlation follow the queries)."""
    size = tensor.shape[dim]
    if size >= length:
        return tensor.narrow(dim, 0, length)
    pad_shape = list(tensor.shape)
    pad_shape[dim] = length - size
    return torch.cat([tensor, tensor.new_zeros(pad_shape)], dim=dim)


def circular_correlation(queries, keys, length):
    """Correlation over all circular lags via FFT (Wiener-Khinchin), along the last axis."""
    return torch.fft.irfft(torch.fft.rfft(queries, dim=-1) * torch.conj(torch.fft.rfft(keys, dim=-1)), n=length, dim=-1)


class SeriesDecomposition(nn.Module):
    """Moving-average trend (edges replicated) and the seasonal residual of ``(B, L, C)`` series."""

    def __init__(self, kernel_size):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'SeriesDecomposition: kernel_size must be a positive odd number, got {kernel_size}')
        self.kernel_size = kernel_size

    def forward(self, x):
        pad = (self.kernel_size - 1) // 2
        padded = torch.cat([x[:, :1].expand(-1, pad, -1), x, x[:, -1:].expand(-1, pad, -1)], dim=1)
        trend = F.avg_pool1d(padded.transpose(1, 2), self.kernel_size, stride=1).transpose(1, 2)
        return x - trend, trend


class AutoCorrelation(nn.Module):
    """Temporal auto-correlation of the leaf nodes: the ``floor(factor * ln L)`` lags with the highest head-mean
    correlation, their series rolled by the lag and mixed with softmax weights. Inputs ``(B, L|S, H, E)``."""

    def __init__(self, factor=1):
        super().__init__()
        self.factor = factor

    def forward(self, queries, keys, values):
        length = queries.shape[1]
        keys, values = fit_length(keys, length, 1), fit_length(values, length, 1)
        corr = circular_correlation(queries.permute(0, 2, 3, 1), keys.permute(0, 2, 3, 1), length)  # B H E L
        weights, lags = torch.topk(corr.mean(dim=2), int(self.factor * math.log(length)), dim=-1)  # B H k
        weights = torch.softmax(weights, dim=-1)
        values = values.permute(0, 2, 3, 1)  # B H E L
        out = sum(roll_time(values, lags[..., i, None]) * weights[..., i, None, None] for i in range(lags.shape[-1]))
        return out.permute(0, 3, 1, 2)


class CrossCorrelation(nn.Module):
    """Spatial cross-correlation of ``N`` nodes: each node is aligned to the nodes' mean series by its ``factor``
    best lags, weighted by the sigmoid of the correlation, fused by ``causal_fusion`` over the nodes sorted by lag
    (a TCN over the node axis, channels ``E * L``) and rolled back. Inputs ``(B, N, L|S, H, E)``."""

    def __init__(self, causal_fusion, factor=1):
        super().__init__()
        self.causal_fusion = causal_fusion
        self.factor = factor

    def forward(self, queries, keys, values):
        batch, nodes, length, heads, channels = queries.shape
        keys, values = fit_length(keys, length, 2), fit_length(values, length, 2)
        pivot = queries.mean(dim=1, keepdim=True).expand_as(queries)
        corr = circular_correlation(pivot.permute(0, 1, 3, 4, 2), keys.permute(0, 1, 3, 4, 2), length)  # B N H E L
        weights, lags = torch.topk(corr.mean(dim=3), self.factor, dim=-1)  # B N H f
        values = values.permute(0, 1, 3, 4, 2)  # B N H E L
        fused = []
        for i in range(self.factor):
            lag = lags[..., i]
            aligned = roll_time(values, -lag[..., None]) * torch.sigmoid(weights[..., i])[..., None, None]
            aligned = aligned.transpose(1, 2).reshape(batch * heads, nodes, channels * length)
            order = torch.sort(length - lag.transpose(1, 2).reshape(batch * heads, nodes), dim=1, stable=True)[1]
            ordered = aligned.gather(1, order[..., None].expand_as(aligned))
            ordered = self.causal_fusion(ordered.transpose(1, 2)).transpose(1, 2)
            restored = ordered.gather(1, torch.argsort(order, dim=1)[..., None].expand_as(ordered))
            restored = restored.reshape(batch, heads, nodes, channels, length).transpose(1, 2)
            fused.append(roll_time(restored, lag[..., None]))
        return torch.stack(fused).mean(dim=0).permute(0, 1, 4, 2, 3)  # B N L H E


class CorrelationProjection(nn.Module):
    """Query/key/value projections into ``num_heads`` heads around a correlation, and the output projection."""

    def __init__(self, correlation, embed_dims, num_heads):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} must be divisible by num_heads {num_heads}')
        self.correlation, self.num_heads = correlation, num_heads
        self.query_projection = nn.Linear(embed_dims, embed_dims)
        self.key_projection = nn.Linear(embed_dims, embed_dims)
        self.value_projection = nn.Linear(embed_dims, embed_dims)
        self.out_projection = nn.Linear(embed_dims, embed_dims)

    def forward(self, queries, keys, values, num_nodes=None):
        """``(B, L, D)`` queries, ``(B, S, D)`` keys/values; ``num_nodes`` groups the batch into nodes for a
        cross-correlation (``B = batch * num_nodes``)."""
        lead = (queries.shape[0],) if num_nodes is None else (queries.shape[0] // num_nodes, num_nodes)
        split = lambda t, proj: proj(t).reshape(*lead, t.shape[1], self.num_heads, -1)  # noqa: E731
        out = self.correlation(split(queries, self.query_projection), split(keys, self.key_projection),
                               split(values, self.value_projection))
        return self.out_projection(out.reshape(queries.shape))


class CausalBlock(nn.Module):
    """Two weight-normalised causal dilated convs with ReLU and dropout, plus the identity (a TCN block)."""

    def __init__(self, channels, kernel_size, dilation, dropout=0.2):
        super().__init__()
        self.padding = (kernel_size - 1) * dilation
        self.conv1 = weight_norm(nn.Conv1d(channels, channels, kernel_size, padding=self.padding, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(channels, channels, kernel_size, padding=self.padding, dilation=dilation))
        self.dropout = nn.Dropout(dropout)

    def causal(self, conv, x):
        return self.dropout(F.relu(conv(x)[..., :-self.padding]))

    def forward(self, x):
        return F.relu(x + self.causal(self.conv2, self.causal(self.conv1, x)))


class CausalConv(nn.Sequential):
    """``num_layers`` TCN blocks with dilations 1, 3, 9, ... over the node axis of ``(B, channels, N)``."""

    def __init__(self, channels, num_layers=1, kernel_size=3, dropout=0.2):
        super().__init__(*[CausalBlock(channels, kernel_size, 3 ** i, dropout) for i in range(num_layers)])


class MultiCorrelation(nn.Module):
    """Auto-correlation on the leaf nodes plus cross-correlation within every level of the node tree, averaged over
    the levels (``node_list``: nodes per level, their product the number of leaf nodes)."""

    def __init__(self, auto_correlation, cross_correlation, node_list, dropout=0.05):
        super().__init__()
        self.auto_correlation, self.cross_correlation = auto_correlation, cross_correlation
        self.node_list = tuple(node_list)
        self.num_nodes = math.prod(self.node_list)
        self.dropout = nn.Dropout(dropout)

    def level(self, series, i):
        """Mean over the subtrees below level ``i``: ``(batch * prod(node_list[:i+1]), L, C)``."""
        return series.reshape(-1, math.prod(self.node_list[i + 1:]), *series.shape[1:]).mean(dim=1)

    def forward(self, x, cross):
        leaf = self.dropout(self.auto_correlation(x, cross, cross))
        batch_nodes, length, channels = x.shape
        levels = []
        for i, nodes in enumerate(self.node_list):
            below = math.prod(self.node_list[i + 1:])
            out = self.cross_correlation(self.level(x, i), self.level(cross, i), self.level(cross, i), num_nodes=nodes)
            levels.append(out.unsqueeze(1).expand(-1, below, -1, -1).reshape(batch_nodes, length, channels))
        return self.dropout(leaf) + self.dropout(torch.stack(levels).mean(dim=0))


class SeasonalLayerNorm(nn.Module):
    """LayerNorm over channels, then the series' mean over time subtracted (the seasonal part has zero mean)."""

    def __init__(self, channels):
        super().__init__()
        self.layernorm = nn.LayerNorm(channels)

    def forward(self, x):
        x = self.layernorm(x)
        return x - x.mean(dim=1, keepdim=True)


class CorrformerDecoderLayer(nn.Module):
    """Self and cross multi-correlation and a 1x1-conv FFN, each followed by a series decomposition; the three
    trends, projected to ``out_channels`` by a circular k=3 conv, refine the trend (see the module docstring)."""

    def __init__(self, *, embed_dims, out_channels, num_heads, node_list, series_len, ffn_dims=2048, moving_avg=25,
                 factor_temporal=1, factor_spatial=1, tcn_layers=1, dropout=0.05, activation='gelu'):
        super().__init__()
        if activation not in ('relu', 'gelu'):
            raise ValueError(f'CorrformerDecoderLayer: activation must be relu or gelu, got {activation!r}')
        tcn_channels = embed_dims // num_heads * series_len

        def multi_correlation():
            return MultiCorrelation(
                CorrelationProjection(AutoCorrelation(factor_temporal), embed_dims, num_heads),
                CorrelationProjection(CrossCorrelation(CausalConv(tcn_channels, tcn_layers), factor_spatial),
                                      embed_dims, num_heads),
                node_list, dropout=dropout)

        self.multi_correlation = multi_correlation()
        self.cross_multi_correlation = multi_correlation()
        self.conv1 = nn.Conv1d(embed_dims, ffn_dims, kernel_size=1, bias=False)
        self.conv2 = nn.Conv1d(ffn_dims, embed_dims, kernel_size=1, bias=False)
        self.decomp1, self.decomp2, self.decomp3 = (SeriesDecomposition(moving_avg) for _ in range(3))
        self.dropout = nn.Dropout(dropout)
        self.activation = F.relu if activation == 'relu' else F.gelu
        self.projection = nn.Conv1d(embed_dims, out_channels, kernel_size=3, padding=1, padding_mode='circular',
                                    bias=False)

    def forward(self, x, memory):
        x, trend1 = self.decomp1(x + self.multi_correlation(x, x))
        x, trend2 = self.decomp2(x + self.cross_multi_correlation(x, memory))
        y = self.dropout(self.activation(self.conv1(x.transpose(1, 2))))
        x, trend3 = self.decomp3(x + self.dropout(self.conv2(y).transpose(1, 2)))
        return x, self.projection((trend1 + trend2 + trend3).transpose(1, 2)).transpose(1, 2)


@MODELS.register_module()
class CorrformerDecoder(nn.Module):
    """Corrformer's decoder (the module docstring); ``forward(x, memory, trend)`` returns ``(seasonal, trend)``,
    both ``(B*n, label_len + pred_len, out_channels)``.

    Args:
        embed_dims (int): D' of the embedding (768 in the paper's recipe).
        out_channels (int): stations per node (the channels of each node's series).
        num_heads (int): heads of every correlation (16).
        node_list (tuple[int]): nodes per tree level; their product is the number of nodes ``n`` ((7, 50)).
        series_len (int): ``label_len + pred_len``, the decoder's length (it sets the TCN's channels).
        num_layers (int): decoder layers (1). Others: see ``CorrformerDecoderLayer``.
    """

    def __init__(self, *, embed_dims, out_channels, num_heads, node_list, series_len, num_layers=1, **layer_kwargs):
        super().__init__()
        self.layers = nn.ModuleList(CorrformerDecoderLayer(
            embed_dims=embed_dims, out_channels=out_channels, num_heads=num_heads, node_list=node_list,
            series_len=series_len, **layer_kwargs) for _ in range(num_layers))
        self.norm = SeasonalLayerNorm(embed_dims)
        self.projection = nn.Linear(embed_dims, out_channels)

    def forward(self, x, memory, trend):
        for layer in self.layers:
            x, residual_trend = layer(x, memory)
            trend = trend + residual_trend
        return self.projection(self.norm(x)), trend
