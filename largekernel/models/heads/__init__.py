"""Task heads of UniRepLKNet's other modalities, one module per modality."""
from . import audio  # noqa: F401
