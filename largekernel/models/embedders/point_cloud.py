"""Point clouds as images for the unchanged UniRepLKNet (UniRepLKNet §3.3, eq. 4: B x P x 3 -> B x 3 x 224 x 224).

The official point-cloud code follows P2P ("Point-to-Pixel Prompting", Wang et al., NeurIPS 2022): every point gets a
local geometric feature (a DGCNN-style edge convolution over its k nearest neighbours), the cloud is seen from
several fixed viewpoints, and each view scatters the features of its points onto a pixel grid by their orthographic
image coordinates (P2P's geometry-preserved projection: one grid cell per point and its 3 x 3 neighbourhood). A small
ResNet block, a fusion of the views' coarse maps by self-attention and a 1 x 1 "coloring" convolution turn the
feature grid into an ImageNet-normalised 3-channel picture per view; the backbone sees B x num_views pictures.
"""
import math

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmpretrain.models import ImageClassifier
from mmpretrain.models.backbones.resnet import BasicBlock
from torch import nn

from ...registry import MODELS

__all__ = ['PointToPixelEmbedder', 'PointCloudClassifier', 'PointCloudDataPreprocessor', 'EdgeConvEncoder',
           'MultiViewFusion', 'VIEW_ANGLES', 'euler_to_matrix', 'knn_indices', 'pixel_indices']

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Euler angles (x, y, z rotation, radians) of P2P's viewpoints, in the order the official code lists them: four
# around the x axis, four diagonal ones, top and bottom. ``num_views`` takes the first ones.
VIEW_ANGLES = (
    (0.0, 0.0, math.pi / 2), (math.pi / 2, 0.0, math.pi / 2), (math.pi, 0.0, math.pi / 2),
    (3 * math.pi / 2, 0.0, math.pi / 2),
    (5 * math.pi / 4, -math.pi / 4, math.pi / 2), (5 * math.pi / 4, math.pi / 4, math.pi / 2),
    (7 * math.pi / 4, -math.pi / 4, math.pi / 2), (7 * math.pi / 4, math.pi / 4, math.pi / 2),
    (0.0, -math.pi / 2, math.pi / 2), (0.0, math.pi / 2, math.pi / 2),
)


def euler_to_matrix(angles):
    """Rotation matrices ``Rx(a) @ Ry(b) @ Rz(c)`` of ``angles`` (..., 3) = (a, b, c) in radians."""
    a, b, c = angles.unbind(-1)
    zero, one = torch.zeros_like(a), torch.ones_like(a)

    def mat(*rows):
        return torch.stack([torch.stack(r, -1) for r in rows], -2)

    rx = mat((one, zero, zero), (zero, a.cos(), -a.sin()), (zero, a.sin(), a.cos()))
    ry = mat((b.cos(), zero, b.sin()), (zero, one, zero), (-b.sin(), zero, b.cos()))
    rz = mat((c.cos(), -c.sin(), zero), (c.sin(), c.cos(), zero), (zero, zero, one))
    return rx @ ry @ rz


def knn_indices(coords, k):
    """Indices (B, N, k) of each point's ``k`` nearest points (itself included) in ``coords`` (B, N, 3)."""
    num_points = coords.shape[1]
    if not 1 <= k <= num_points:
        raise ValueError(f'k={k} nearest neighbours need at least k points; the cloud has {num_points}')
    dist = torch.cdist(coords, coords)
    return dist.topk(k, dim=-1, largest=False).indices


def pixel_indices(xy, grid_size):
    """Flat pixel index (B, 9N) of every point's 3 x 3 footprint on a ``grid_size`` x ``grid_size`` grid.

    P2P's geometry-preserved projection: the longer side of the cloud's ``xy`` (B, N, 2) bounding box spans
    ``grid_size - 3`` cells of one common size (the aspect ratio is kept), each point marks its cell and the 8 around
    it, and the footprint is centred on the grid. ``x`` indexes rows, ``y`` columns; index = row * grid_size + col.
    """
    low = xy.amin(dim=1, keepdim=True)
    extent = (xy.amax(dim=1, keepdim=True) - low).amax(dim=-1, keepdim=True)
    cell = (extent / (grid_size - 3)).clamp_min(torch.finfo(xy.dtype).tiny)
    cells = torch.floor((xy - low) / cell).clamp(max=grid_size - 3).long()  # (B, N, 2) in [0, grid_size - 3]
    offsets = torch.stack(torch.meshgrid(torch.arange(-1, 2), torch.arange(-1, 2), indexing='ij'), -1)
    footprint = (cells[:, :, None] + offsets.reshape(1, 1, 9, 2).to(xy.device) + 1).flatten(1, 2)  # (B, 9N, 2)
    centre = torch.div(footprint.amax(dim=1) + footprint.amin(dim=1), 2, rounding_mode='floor')
    footprint = footprint + (grid_size // 2 - 1 - centre)[:, None]
    return footprint[..., 0] * grid_size + footprint[..., 1]


class EdgeConvEncoder(nn.Module):
    """Per-point local geometric features (P2P §3.2; DGCNN's edge convolution, one layer): a 1 x 1 lift of the
    coordinates, then max over the k nearest neighbours of ``[f_j - f_i, f_i]`` through 1 x 1 conv + GN + LeakyReLU,
    and a 1 x 1 projection. Input (B, N, 3), output (B, N, out_channels)."""

    def __init__(self, *, k=32, lift_channels=8, out_channels=64, num_groups=4):
        super().__init__()
        self.k = k
        self.input_trans = nn.Conv1d(3, lift_channels, 1)
        self.graph_layer = nn.Sequential(
            nn.Conv2d(2 * lift_channels, out_channels, 1, bias=False),
            nn.GroupNorm(num_groups, out_channels),
            nn.LeakyReLU(negative_slope=0.2))
        self.proj_layer = nn.Conv1d(out_channels, out_channels, 1)

    def forward(self, points):
        idx = knn_indices(points.detach(), self.k)  # (B, N, k)
        feat = self.input_trans(points.transpose(1, 2))  # (B, C, N)
        channels = feat.shape[1]
        neighbours = torch.gather(feat[:, :, None, :].expand(-1, -1, idx.shape[1], -1), 3,
                                  idx[:, None].expand(-1, channels, -1, -1))  # (B, C, N, k)
        centre = feat[..., None].expand_as(neighbours)
        edge = self.graph_layer(torch.cat([neighbours - centre, centre], dim=1)).amax(dim=-1)
        return self.proj_layer(edge).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention whose inner width ``heads * head_dim`` may differ from the token width."""

    def __init__(self, dim, *, heads=8, head_dim=64):
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, 3 * heads * head_dim, bias=False)
        self.to_out = nn.Linear(heads * head_dim, dim)

    def forward(self, x):
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))
        return self.to_out(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2))


class TransformerLayer(nn.Module):
    """Pre-norm transformer layer: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim, *, heads, head_dim, mlp_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads=heads, head_dim=head_dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class MultiViewFusion(nn.Module):
    """Exchange between the views of one cloud (the official code's attentive fusion): a ``patch`` x ``patch``
    strided conv makes coarse tokens, one transformer layer attends over the tokens of all views of a cloud, the
    result is upsampled (nearest) back to the grid, refined by a 3 x 3 conv + GELU and merged with the input by a
    1 x 1 conv + GELU over their concatenation. Input and output (B * num_views, C, H, W)."""

    def __init__(self, channels, *, num_views, patch=7, dim=128, heads=8, head_dim=128, mlp_dim=256):
        super().__init__()
        self.num_views = num_views
        self.patchify = nn.Conv2d(channels, dim, patch, stride=patch, bias=False)
        self.transformer = TransformerLayer(dim, heads=heads, head_dim=head_dim, mlp_dim=mlp_dim)
        self.refine = nn.Sequential(nn.Conv2d(dim, channels, 3, padding=1), nn.GELU())
        self.merge = nn.Sequential(nn.Conv2d(2 * channels, channels, 1), nn.GELU())

    def forward(self, x):
        tokens = self.patchify(x)
        bv, dim, h, w = tokens.shape
        tokens = tokens.flatten(2).transpose(1, 2).reshape(bv // self.num_views, self.num_views * h * w, dim)
        tokens = self.transformer(tokens).reshape(bv, h * w, dim).transpose(1, 2).reshape(bv, dim, h, w)
        coarse = self.refine(F.interpolate(tokens, size=x.shape[-2:], mode='nearest'))
        return self.merge(torch.cat([coarse, x], dim=1))


@MODELS.register_module()
class PointToPixelEmbedder(nn.Module):
    """Point cloud -> ``num_views`` ImageNet-normalised pictures (UniRepLKNet §3.3, eq. 4; P2P's projection).

    ``forward(points, view_points)`` takes the cloud twice, (B, N, 3) each: ``points`` (the sampled, normalised
    cloud) give the local geometric features, ``view_points`` (the same points after the training rotation and
    scale / translate augmentation, or a fixed test rotation) give the pixel positions after each viewpoint's
    rotation (``VIEW_ANGLES``). Output (B * num_views, 3, image_size, image_size), views of one cloud adjacent.

    Args:
        num_views (int): viewpoints per cloud (the first ``num_views`` of ``VIEW_ANGLES``).
        grid_size (int): side of the projection grid; zero-padded to ``image_size`` when smaller.
        image_size (int): side of the output pictures.
        k (int): neighbours of the edge convolution.
        lift_channels / feat_channels (int): widths of the coordinate lift and of the point features.
        fusion (dict | None): keyword arguments of :class:`MultiViewFusion` (None: no fusion between views).
        mean / std (tuple): normalisation of the sigmoid-coloured pictures (ImageNet's, for the backbone).
    """

    def __init__(self, *, num_views=4, grid_size=224, image_size=224, k=32, lift_channels=8, feat_channels=64,
                 fusion=dict(patch=7, dim=128, heads=8, head_dim=128, mlp_dim=256), mean=IMAGENET_MEAN,
                 std=IMAGENET_STD):
        super().__init__()
        if not 1 <= num_views <= len(VIEW_ANGLES):
            raise ValueError(f'num_views={num_views}: valid 1..{len(VIEW_ANGLES)} (the viewpoints of VIEW_ANGLES)')
        if grid_size % 2 or not 4 <= grid_size <= image_size:
            raise ValueError(f'grid_size={grid_size}: valid an even size in [4, image_size={image_size}] (the '
                             'centred 3 x 3 footprints of an odd grid would leave it)')
        self.num_views, self.grid_size, self.image_size = num_views, grid_size, image_size
        self.feat_channels = feat_channels
        angles = torch.tensor(VIEW_ANGLES[:num_views], dtype=torch.float64)
        self.register_buffer('view_rotations', euler_to_matrix(angles), persistent=False)
        self.encoder = EdgeConvEncoder(k=k, lift_channels=lift_channels, out_channels=feat_channels)
        self.img_block = nn.Sequential(BasicBlock(feat_channels, feat_channels),
                                       nn.Conv2d(feat_channels, feat_channels, 1))
        self.fusion = None if fusion is None else MultiViewFusion(feat_channels, num_views=num_views, **fusion)
        self.coloring = nn.Conv2d(feat_channels, 3, 1)
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def project(self, view_points):
        """Flat pixel indices (B * num_views, 9N) of every view (the views' rotations applied to ``view_points``)."""
        rotated = torch.einsum('vij,bnj->bvni', self.view_rotations.to(view_points.dtype), view_points)
        return pixel_indices(rotated.flatten(0, 1)[..., :2], self.grid_size)

    def scatter(self, feats, index):
        """Sum ``feats`` (B', N, C), each point's feature on its 9 pixels ``index`` (B', 9N), into a (B', C, g, g)
        grid."""
        dense = feats.repeat_interleave(9, dim=1)
        grid = feats.new_zeros(feats.shape[0], self.grid_size ** 2, feats.shape[2])
        grid = grid.scatter_add(1, index[..., None].expand_as(dense), dense)
        return grid.transpose(1, 2).unflatten(2, (self.grid_size, self.grid_size))

    def forward(self, points, view_points):
        feats = self.encoder(points).repeat_interleave(self.num_views, dim=0)  # equal for every view of a cloud
        grid = self.scatter(feats, self.project(view_points))
        pad = self.image_size - self.grid_size
        if pad:
            grid = F.pad(grid, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
        x = self.img_block(grid)
        if self.fusion is not None:
            x = self.fusion(x)
        return (torch.sigmoid(self.coloring(x)) - self.mean) / self.std


@MODELS.register_module()
class PointCloudDataPreprocessor(BaseDataPreprocessor):
    """Stacks the packed clouds (N, 6) of a batch: ``[:, :3]`` the sampled cloud, ``[:, 3:]`` its view copy (see
    ``largekernel.PackPointCloudInputs``), into (B, N, 6) on the model's device. Batch augmentations (mixup and the
    like, ``ImageClassifier``'s ``train_cfg``) are image-only: any other than None is refused."""

    def __init__(self, *, batch_augments=None, **kwargs):
        if batch_augments is not None:
            raise ValueError(f'PointCloudDataPreprocessor: batch_augments={batch_augments!r}; point clouds take none '
                             '(None)')
        super().__init__(**kwargs)

    def forward(self, data, training=False):
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = sorted({tuple(x.shape) for x in inputs})
            if len(shapes) != 1:
                raise ValueError(f'PointCloudDataPreprocessor: the clouds of a batch differ in shape {shapes}; '
                                 'sample every cloud to one number of points (largekernel.SamplePoints)')
            inputs = torch.stack(list(inputs))
        if inputs.ndim != 3 or inputs.shape[-1] != 6:
            raise ValueError(f'PointCloudDataPreprocessor: inputs of shape {tuple(inputs.shape)}; expected '
                             '(B, N, 6): xyz of the sampled cloud and of its view copy')
        finite = torch.isfinite(inputs).all(dim=(1, 2))
        if not bool(finite.all()):
            raise ValueError(f'PointCloudDataPreprocessor: clouds {torch.nonzero(~finite).flatten().tolist()} of the '
                             'batch have NaN or infinite coordinates; clouds must be finite')
        return dict(inputs=inputs.float(), data_samples=data.get('data_samples'))


@MODELS.register_module()
class PointCloudClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` with a point-cloud embedder in front of the unchanged backbone
    (UniRepLKNet §3.3): inputs (B, N, 6) -> ``embedder`` -> (B * num_views, 3, H, W) -> backbone -> neck -> head
    (a multi-view head, e.g. ``largekernel.MultiViewPoolingHead``)."""

    def __init__(self, *, embedder, data_preprocessor=None, **kwargs):
        if data_preprocessor is None:
            data_preprocessor = dict(type='largekernel.PointCloudDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, **kwargs)
        self.embedder = embedder if isinstance(embedder, nn.Module) else MODELS.build(embedder)

    def extract_feat(self, inputs, stage='neck'):
        return super().extract_feat(self.embedder(inputs[..., :3], inputs[..., 3:6]), stage=stage)
