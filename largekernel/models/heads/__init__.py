"""Task heads of UniRepLKNet's other modalities (UniRepLKNet §4.2)."""
from .time_series import CorrformerDecoder  # noqa: F401
