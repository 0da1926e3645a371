"""Checkpoint converters: official / third-party key layouts -> largekernel layouts (one module per family).

Import the family's module directly, e.g. ``from largekernel.models.converters.replknet import convert_replknet``;
the thin CLIs live in ``tools/model_converters/``.
"""
