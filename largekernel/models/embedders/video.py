"""Video as one image for an unchanged image backbone (UniRepLKNet §3.3, eq. 5).

A clip of N_F frames of 3 x h x w becomes one 3 x H x W map with HW / hw = N_F; the paper uses N_F = 16 and
h = w = 224, so H = W = 896. Two layouts:

- ``'reshape'`` (default, the official video code): a raw memory reshape of the (B, 3, T, h, w) tensor to
  (B, 3, rows * h, cols * w). Each map row then holds ``cols`` consecutive rows of one frame, and frame t fills the
  band of map rows [t * h / cols, (t + 1) * h / cols): the frames are stacked top to bottom as folded strips.
- ``'mosaic'`` (the paper's wording, "laying out (i.e., concatenating) the N_F frames"): frame t is the tile at
  grid row t // cols, column t % cols, in raster order.

Both keep every value; neither has parameters.
"""
import math

from torch import nn

from ...registry import MODELS

LAYOUTS = ('reshape', 'mosaic')


def default_grid(num_frames):
    """The square ``(rows, cols)`` grid of ``num_frames`` tiles (4 x 4 for the paper's 16 frames)."""
    side = math.isqrt(num_frames)
    if side * side != num_frames:
        raise ValueError(f'num_frames={num_frames} is not a square number; pass grid=(rows, cols) with '
                         f'rows * cols == {num_frames}')
    return side, side


def frames_to_map(clip, grid, layout='reshape'):
    """(B, C, T, h, w) -> (B, C, rows * h, cols * w) in ``layout`` (see the module docstring)."""
    if layout not in LAYOUTS:
        raise ValueError(f'unknown video layout {layout!r}; valid: {LAYOUTS}')
    b, c, t, h, w = clip.shape
    rows, cols = grid
    if rows * cols != t:
        raise ValueError(f'grid {tuple(grid)} holds {rows * cols} frames, the clip has {t}')
    if layout == 'reshape':
        return clip.reshape(b, c, rows * h, cols * w)
    tiles = clip.reshape(b, c, rows, cols, h, w)
    return tiles.permute(0, 1, 2, 4, 3, 5).reshape(b, c, rows * h, cols * w)


class VideoEmbedder(nn.Module):
    """Checks a (B, C, T, h, w) clip and lays it out as one (B, C, H, W) map (UniRepLKNet eq. 5).

    Args:
        num_frames (int): frames per clip, T (16 in the paper).
        in_channels (int): channels per frame (3, RGB).
        layout (str): ``'reshape'`` (official code, default) or ``'mosaic'`` (frame t at tile t).
        grid (tuple[int, int] | None): ``(rows, cols)`` with rows * cols = T; None: the square grid.
    """

    def __init__(self, *, num_frames=16, in_channels=3, layout='reshape', grid=None):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f'unknown video layout {layout!r}; valid: {LAYOUTS}')
        grid = tuple(grid) if grid is not None else default_grid(num_frames)
        if len(grid) != 2 or grid[0] * grid[1] != num_frames:
            raise ValueError(f'grid {grid} must be (rows, cols) with rows * cols == num_frames={num_frames}')
        self.num_frames, self.in_channels, self.layout, self.grid = num_frames, in_channels, layout, grid

    def forward(self, clip):
        if clip.dim() != 5:
            raise ValueError(f'VideoEmbedder expects a (B, C, T, H, W) clip, got shape {tuple(clip.shape)}')
        _, c, t, _, _ = clip.shape
        if c != self.in_channels:
            raise ValueError(f'VideoEmbedder: clip has {c} channels (shape {tuple(clip.shape)}), expected '
                             f'{self.in_channels} (layout (B, C, T, H, W))')
        if t != self.num_frames:
            raise ValueError(f'VideoEmbedder: clip has {t} frames (shape {tuple(clip.shape)}), the {self.layout} '
                             f'layout on a {self.grid[0]} x {self.grid[1]} grid needs num_frames={self.num_frames}')
        return frames_to_map(clip, self.grid, self.layout)

    def extra_repr(self):
        return f'num_frames={self.num_frames}, layout={self.layout!r}, grid={self.grid}'


@MODELS.register_module()
class VideoAsImageBackbone(nn.Module):
    """A video backbone made of the ``VideoEmbedder`` and an unchanged image backbone (UniRepLKNet §3.3).

    Returns the (B, C) feature of the image backbone's last output: as it is when the backbone pools itself
    (UniRepLKNet / ConvNeXt with ``gap_before_final_norm=True``), global-average pooled when it returns a map
    (ResNet), as an image classifier's neck would.

    Args:
        backbone (dict): config of the image backbone, e.g. ``dict(type='largekernel.UniRepLKNet', arch='S')``.
        embedder (dict): arguments of ``VideoEmbedder``.
        deploy (bool | None): if given, passed to the image backbone (its re-parameterised form).
    """

    def __init__(self, *, backbone, embedder=None, deploy=None):
        super().__init__()
        backbone = dict(backbone)
        if deploy is not None:
            backbone['deploy'] = deploy
        self.embedder = VideoEmbedder(**(embedder or {}))
        self.backbone = MODELS.build(backbone)

    def init_weights(self):
        if hasattr(self.backbone, 'init_weights'):
            self.backbone.init_weights()

    def layer_id(self, name, num_layers):
        """Layer-wise lr decay group of parameter ``name``: the image backbone's own mapping (UniRepLKNet and the
        other largekernel backbones; see ``LargeKernelBackbone.layer_id``)."""
        if not hasattr(self.backbone, 'layer_id'):
            raise TypeError(f'{type(self.backbone).__name__} has no layer_id(); layer-wise lr decay needs a '
                            'largekernel image backbone')
        return self.backbone.layer_id(name[len('backbone.'):] if name.startswith('backbone.') else name, num_layers)

    def forward(self, clip):
        out = self.backbone(self.embedder(clip))
        out = out[-1] if isinstance(out, (tuple, list)) else out
        if out.dim() == 4:
            out = out.mean((2, 3))
        elif out.dim() != 2:
            raise ValueError(f'VideoAsImageBackbone: the image backbone returned shape {tuple(out.shape)}; '
                             'expected (B, C) or (B, C, H, W)')
        return out

