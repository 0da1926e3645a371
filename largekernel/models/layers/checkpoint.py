"""Activation checkpointing for residual blocks (``with_cp``)."""
import torch.utils.checkpoint as cp


def maybe_checkpoint(fn, x, enabled):
    """Run ``fn(x)`` under activation checkpointing when ``enabled`` and gradients flow into ``x``."""
    if enabled and x.requires_grad:
        return cp.checkpoint(fn, x, use_reentrant=False)
    return fn(x)
