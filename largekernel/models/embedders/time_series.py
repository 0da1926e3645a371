"""Time-series forecasting with UniRepLKNet (UniRepLKNet §3.3 Eq. 2, §4.2): Corrformer's embedding and decoder
around the unchanged backbone, which replaces Corrformer's transformer encoder.

    x (B, L, D stations) -> per-window normalisation -> n nodes of D/n stations: (B*n, L, D/n)
      -> CorrformerEmbedding: (B*n, L, D') -> SeriesToMap: (B*n, 1, H, W), HW = L*D'      (Eq. 2)
      -> backbone -> last stage (B*n, C, h, w) -> reshaped to the decoder's memory (B*n, C*h*w / D', D')
    decoder input: the last label_len steps of the input's seasonal part + pred_len zeros (and the trend part + the
    window mean), embedded by a second CorrformerEmbedding -> CorrformerDecoder -> seasonal + trend
      -> last pred_len steps, back to (B, pred_len, D) -> de-normalised to the data's units.

Official-code facts (the released Time-Series/ folder): the series of one window are normalised over time per
station (mean, std with 1e-5) with a learnable affine per position inside a node (RevIN style) and de-normalised at
the end, so the loss (MSE) and the metrics are in the data's units; the decomposition uses a moving average of 25;
the encoder's output is reshaped in memory order, ``enc_out.reshape(B*n, -1, d_model)``. That line cannot take the
classifier logits the official script's backbone returns (1000 values are not a multiple of 768); the only output
it fits with d_model = 768 is a 768-channel feature map, so we feed the last stage's map (6 x 6 for a 192 x 192
input), which is also what any other backbone of Table 11 provides (ResNet-101: 2048 x 6 x 6 = 96 x 768).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from ...registry import MODELS
from ..heads.time_series import SeriesDecomposition


def standardize_positions(positions):
    """Zero mean and unit variance per coordinate over the stations (population std; constant columns stay 0)."""
    positions = np.asarray(positions, dtype=np.float64)
    std = positions.std(axis=0)
    return (positions - positions.mean(axis=0)) / np.where(std > 0, std, 1.0)


@MODELS.register_module()
class CorrformerEmbedding(nn.Module):
    """Corrformer's data embedding of ``(B*n, L, D/n)`` node series into ``(B*n, L, D')``: a circular k=3 conv of the
    values + a linear map of the time features + a linear map of the node's standardised station coordinates.

    Args:
        in_channels (int): stations per node ``D/n``.
        embed_dims (int): D'.
        num_nodes (int): n.
        num_stations (int): D.
        stations (str | None): ``stations_sorted.npy``, the ``(D, 3)`` station coordinates in the data's station
            order (ours: latitude, longitude, elevation; only their standardised values are used); None when the
            weights come from a checkpoint (the standardised coordinates are a buffer of the state dict).
        time_features (int): time features per step (4 for hourly data: hour, weekday, day of month, day of year).
        dropout (float): dropout on the sum.
    """

    def __init__(self, *, in_channels, embed_dims, num_nodes, num_stations, stations=None, time_features=4,
                 dropout=0.05):
        super().__init__()
        self.num_nodes = num_nodes
        self.value_embedding = nn.Conv1d(in_channels, embed_dims, kernel_size=3, padding=1, padding_mode='circular',
                                         bias=False)
        nn.init.kaiming_normal_(self.value_embedding.weight, mode='fan_in', nonlinearity='leaky_relu')
        self.temporal_embedding = nn.Linear(time_features, embed_dims, bias=False)
        self.position_embedding = nn.Linear(3 * (num_stations // num_nodes), embed_dims)
        positions = torch.zeros(num_stations, 3)
        if stations is not None:
            loaded = np.load(stations)
            if loaded.shape != (num_stations, 3):
                raise ValueError(f'CorrformerEmbedding: {stations} holds coordinates of shape {loaded.shape}; the '
                                 f'model is configured for ({num_stations}, 3) (stations x latitude/longitude/'
                                 'elevation)')
            positions = torch.from_numpy(standardize_positions(loaded)).float()
        self.register_buffer('positions', positions)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, x_mark):
        nodes = self.position_embedding(self.positions.reshape(self.num_nodes, -1))  # n D'
        nodes = nodes.unsqueeze(1).repeat(x.shape[0] // self.num_nodes, 1, 1)  # B*n 1 D'
        x = self.value_embedding(x.transpose(1, 2)).transpose(1, 2) + self.temporal_embedding(x_mark) + nodes
        return self.dropout(x)


class SeriesToMap(nn.Module):
    """UniRepLKNet Eq. 2: ``(B*n, L, D')`` -> the single-channel map ``(B*n, 1, H, W)``, ``HW = L * D'``, in memory
    order."""

    def __init__(self, map_size, seq_len, embed_dims):
        super().__init__()
        self.map_size = tuple(map_size)
        if len(self.map_size) != 2 or math.prod(self.map_size) != seq_len * embed_dims:
            raise ValueError(f'map_size {map_size} must be (H, W) with H * W = seq_len * embed_dims = '
                             f'{seq_len} * {embed_dims} = {seq_len * embed_dims}')

    def forward(self, x):
        return x.reshape(x.shape[0], 1, *self.map_size)


def check_node_layout(num_stations, node_list):
    """n = prod(node_list) nodes of num_stations / n stations each; raise naming the values and the valid counts."""
    if not node_list or any(int(k) < 1 for k in node_list):
        raise ValueError(f'node_list {node_list} must be a non-empty list of positive node counts per tree level')
    num_nodes = math.prod(node_list)
    if num_stations % num_nodes:
        divisors = [k for k in range(1, num_stations + 1) if num_stations % k == 0]
        raise ValueError(f'{num_stations} stations cannot be split into prod(node_list {tuple(node_list)}) = '
                         f'{num_nodes} equal nodes; valid node counts (divisors of {num_stations}): {divisors}')
    return num_nodes


@MODELS.register_module()
class CorrformerForecaster(BaseModel):
    """Corrformer with its encoder replaced by a 2D backbone (UniRepLKNet §4.2; see the module docstring).

    ``forward(inputs, data_samples, mode)``: ``inputs`` holds ``x`` (B, seq_len, D), ``x_mark`` (B, seq_len, F) and
    ``y_mark`` (B, label_len + pred_len, F); ``data_samples`` holds ``target`` (B, pred_len, D). ``'loss'``: the
    MSE in the data's units; ``'predict'``: one dict per window with ``pred`` and ``target``; ``'tensor'``: the
    forecast (B, pred_len, D).

    Args:
        num_stations (int): D, the stations (series) of the data set.
        node_list (tuple[int]): nodes per level of Corrformer's node tree; n = prod(node_list) must divide D.
        seq_len, label_len, pred_len (int): input length, the decoder's look-back and the horizon (48, 24, 24).
        embed_dims (int): D'.
        map_size (tuple[int]): (H, W) of the backbone's input map, H * W = seq_len * embed_dims.
        moving_avg (int): the decomposition's moving-average window.
        embedder (dict): the ``CorrformerEmbedding`` of the encoder and of the decoder (two instances; the shape
            arguments are filled in here).
        backbone (dict): any backbone taking a 1-channel map and returning a tuple of maps (the last is used).
        decoder (dict): the ``CorrformerDecoder`` (shape arguments filled in here).
    """

    def __init__(self, *, num_stations, node_list, seq_len, label_len, pred_len, embed_dims, map_size, embedder,
                 backbone, decoder, moving_avg=25, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if label_len > seq_len:
            raise ValueError(f'label_len {label_len} cannot exceed seq_len {seq_len}')
        self.num_nodes = check_node_layout(num_stations, node_list)
        self.num_stations, self.embed_dims = num_stations, embed_dims
        self.seq_len, self.label_len, self.pred_len = seq_len, label_len, pred_len
        node_channels = num_stations // self.num_nodes
        shape = dict(in_channels=node_channels, embed_dims=embed_dims, num_nodes=self.num_nodes,
                     num_stations=num_stations)
        self.enc_embedding = MODELS.build(dict(embedder, **shape))
        self.dec_embedding = MODELS.build(dict(embedder, **shape))
        self.to_map = SeriesToMap(map_size, seq_len, embed_dims)
        self.backbone = MODELS.build(backbone)
        self.decoder = MODELS.build(dict(decoder, embed_dims=embed_dims, out_channels=node_channels,
                                         node_list=tuple(node_list), series_len=label_len + pred_len,
                                         moving_avg=moving_avg))
        self.decomp = SeriesDecomposition(moving_avg)
        self.affine_weight = nn.Parameter(torch.ones(node_channels))
        self.affine_bias = nn.Parameter(torch.zeros(node_channels))

    def to_nodes(self, x):
        """(B, L, D) -> (B*n, L, D/n): node k holds stations k*D/n ... (k+1)*D/n - 1."""
        batch, length, _ = x.shape
        return x.reshape(batch, length, self.num_nodes, -1).transpose(1, 2).reshape(batch * self.num_nodes, length, -1)

    def from_nodes(self, x, batch):
        return x.reshape(batch, self.num_nodes, x.shape[1], -1).transpose(1, 2).reshape(batch, x.shape[1], -1)

    def memory(self, x, x_mark):
        """The backbone's last map, reshaped in memory order to the decoder's ``(B*n, S, D')`` cross input."""
        feature = self.backbone(self.to_map(self.enc_embedding(self.to_nodes(x), self.repeat_marks(x_mark))))[-1]
        if feature[0].numel() % self.embed_dims:
            raise ValueError(f'the backbone\'s last map {tuple(feature.shape[1:])} has {feature[0].numel()} values '
                             f'per node, not a multiple of embed_dims {self.embed_dims}')
        return feature.reshape(feature.shape[0], -1, self.embed_dims)

    def repeat_marks(self, marks):
        return marks.repeat_interleave(self.num_nodes, dim=0)

    def check_inputs(self, x, x_mark, y_mark):
        expected = {'x': (self.seq_len, self.num_stations), 'y_mark': (self.label_len + self.pred_len, None),
                    'x_mark': (self.seq_len, None)}
        for name, tensor in (('x', x), ('x_mark', x_mark), ('y_mark', y_mark)):
            length, width = expected[name]
            if tensor.dim() != 3 or tensor.shape[1] != length or width not in (None, tensor.shape[2]):
                raise ValueError(f'CorrformerForecaster: {name} has shape {tuple(tensor.shape)}; expected '
                                 f'(B, {length}, {width if width else "F"}) for seq_len {self.seq_len}, label_len '
                                 f'{self.label_len}, pred_len {self.pred_len} and {self.num_stations} stations')

    def forecast(self, x, x_mark, y_mark):
        """(B, seq_len, D) -> (B, pred_len, D) in the units of ``x``."""
        self.check_inputs(x, x_mark, y_mark)
        batch = x.shape[0]
        means = x.mean(dim=1, keepdim=True).detach()
        x = x - means
        stdev = torch.sqrt(torch.var(x, dim=1, keepdim=True, unbiased=False) + 1e-5)
        weight, bias = self.affine_weight.repeat(self.num_nodes), self.affine_bias.repeat(self.num_nodes)
        x = x / stdev * weight + bias
        seasonal, trend = self.decomp(x)
        trend_init = torch.cat([trend[:, -self.label_len:], x.mean(dim=1, keepdim=True).expand(-1, self.pred_len, -1)],
                               dim=1)
        seasonal_init = F.pad(seasonal[:, -self.label_len:], (0, 0, 0, self.pred_len))
        memory = self.memory(x, x_mark)
        seasonal_part, trend_part = self.decoder(
            self.dec_embedding(self.to_nodes(seasonal_init), self.repeat_marks(y_mark)), memory,
            self.to_nodes(trend_init))
        out = self.from_nodes((seasonal_part + trend_part)[:, -self.pred_len:], batch)
        return ((out - bias) / (weight + 1e-10)) * stdev + means

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.forecast(inputs['x'], inputs['x_mark'], inputs['y_mark'])
        if mode == 'tensor':
            return pred
        target = data_samples['target']
        if mode == 'loss':
            return dict(loss=F.mse_loss(pred, target))
        if mode == 'predict':
            return [dict(pred=p, target=t) for p, t in zip(pred.detach(), target)]
        raise ValueError(f'CorrformerForecaster: unknown mode {mode!r}; valid: loss, predict, tensor')
