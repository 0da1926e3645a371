"""Task heads of UniRepLKNet's other modalities, one module per modality (importing registers them)."""
from . import audio, point_cloud, time_series  # noqa: F401
