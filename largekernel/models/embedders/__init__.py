"""Embedders of UniRepLKNet's other modalities (§3.3): each turns its signal into the map the unchanged backbone
reads. One module per modality."""
from . import video  # noqa: F401
from .point_cloud import *  # noqa: F401,F403
