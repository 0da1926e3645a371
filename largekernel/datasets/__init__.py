"""Datasets and data transforms of UniRepLKNet's other modalities (UniRepLKNet §3.3): each turns its signal into
the B x C' x H x W map the unchanged backbone reads. One module per modality (importing registers them)."""
from . import audio, point_cloud, time_series, video  # noqa: F401
