"""Modality embedders in front of the unchanged backbones (UniRepLKNet §3.3), and the models around them."""
from .time_series import CorrformerEmbedding, CorrformerForecaster  # noqa: F401
