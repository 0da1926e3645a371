"""Metrics the stack's toolboxes do not provide, one module per modality."""
from . import time_series  # noqa: F401
