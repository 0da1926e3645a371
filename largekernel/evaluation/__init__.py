"""Metrics the stack's toolboxes do not provide, one module per modality."""
