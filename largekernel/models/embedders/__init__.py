"""Embedders of UniRepLKNet's other modalities (§3.3): each turns its signal into the map the unchanged backbone
reads, with the model wrapper that puts it in front. One module per modality (importing registers them)."""
from . import point_cloud, time_series, video  # noqa: F401
