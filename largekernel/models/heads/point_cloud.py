"""Classification head over the views of a point cloud (the official UniRepLKNet point-cloud code, following P2P)."""
from mmpretrain.models.heads import ClsHead
from torch import nn

from ...registry import MODELS

__all__ = ['MultiViewPoolingHead']


@MODELS.register_module()
class MultiViewPoolingHead(ClsHead):
    """Global average pooling of every view's last feature map, the views of a cloud concatenated, LayerNorm and a
    linear classifier (the official ``pooling_mlp`` head); ``mid_channels`` inserts hidden Linear-BN-ReLU-Dropout
    layers before the classifier (P2P's ``mlp`` head style; the official UniRepLKNet recipe has none).

    Input: backbone features whose last item is (B * num_views, in_channels, h, w), views of one cloud adjacent
    (as :class:`~largekernel.models.embedders.point_cloud.PointToPixelEmbedder` orders them).
    """

    def __init__(self, *, num_classes, in_channels, num_views, mid_channels=(), dropout_ratio=0.5, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 2:
            raise ValueError(f'num_classes={num_classes}: a classifier needs at least 2 classes')
        self.num_classes, self.in_channels, self.num_views = num_classes, in_channels, num_views
        width = in_channels * num_views
        self.norm = nn.LayerNorm(width)
        layers = []
        for hidden in mid_channels:
            layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                       nn.Dropout(dropout_ratio)]
            width = hidden
        self.mlp = nn.Sequential(*layers)
        self.fc = nn.Linear(width, num_classes)

    def pre_logits(self, feats):
        x = feats[-1]
        if x.ndim == 4:
            x = x.mean(dim=(2, 3))
        if x.shape[0] % self.num_views or x.shape[1] != self.in_channels:
            raise ValueError(f'MultiViewPoolingHead: features {tuple(x.shape)} are not (B * {self.num_views} views, '
                             f'{self.in_channels}, ...)')
        return self.mlp(self.norm(x.reshape(-1, self.num_views * self.in_channels)))

    def forward(self, feats):
        return self.fc(self.pre_logits(feats))
