"""Effective receptive field (ERF) as in RepLKNet Appendix B.

For a batch of images ``I`` (n x C x H x W) and the final feature map ``M`` (n x c x h' x w'), the contribution of
every input pixel is the positive part of the gradient of the summed central points ``M[:, :, h'/2, w'/2]``
w.r.t. ``I``, summed over the images and the input channels (paper Eq. 1). Scores of many batches add up; the map
shown is ``A = log10(scores + 1)`` rescaled to [0, 1] by its maximum (Eq. 2). Table 10's high-contribution area
ratio ``r`` at threshold ``t`` is the area of the smallest centred square holding ``t`` of the sum of ``A``.

Paper vs code: the official script applies a ReLU to the central points before summing them; the paper's Eq. 1
does not. ``relu_output=True`` (the default) follows the official script, with which the published maps and
ratios were made.
"""
import numpy as np
import torch

THRESHOLDS = (0.2, 0.3, 0.5, 0.99)  # RepLKNet Table 10


def final_feature_map(outputs):
    """The feature map the ERF is measured on: a tensor, or the last of a backbone's tuple of outputs."""
    out = outputs[-1] if isinstance(outputs, (tuple, list)) else outputs
    if not torch.is_tensor(out) or out.dim() != 4:
        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise ValueError(f'the ERF needs an n x c x h x w feature map from the model, got {shape} (is the '
                         'backbone pooling its output? set gap_before_final_norm=False)')
    return out


def contribution_scores(model, images, relu_output=True):
    """Summed positive input gradients of the central output points (RepLKNet App. B, Eq. 1): an H x W float64
    array for ``images`` (n x C x H x W)."""
    images = images.detach().clone().requires_grad_(True)
    out = final_feature_map(model(images))
    centre = out[:, :, out.shape[2] // 2, out.shape[3] // 2]
    if relu_output:
        centre = centre.relu()
    (grad,) = torch.autograd.grad(centre.sum(), images)
    return grad.clamp(min=0).sum((0, 1)).double().cpu().numpy()


def normalized_erf(scores):
    """``log10(scores + 1)`` divided by its maximum (Eq. 2 and the rescaling that follows it)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or (scores < 0).any():
        raise ValueError(f'contribution scores must be a non-negative 2-D map, got shape {scores.shape}')
    erf = np.log10(scores + 1)
    peak = erf.max()
    if peak <= 0:
        raise ValueError('every contribution score is zero: the output does not depend on the input (dead '
                         'ReLUs at the central point? try relu_output=False)')
    return erf / peak


def high_contribution_area(erf, threshold):
    """Side of the smallest square centred on the map that holds more than ``threshold`` of its sum, and that
    square's share of the map's area (RepLKNet Table 10)."""
    if not 0 < threshold < 1:
        raise ValueError(f'threshold must lie in (0, 1), got {threshold}')
    h, w = erf.shape
    if h != w:
        raise ValueError(f'the area ratio is defined on square maps, got {h} x {w}')
    total, c = erf.sum(), h // 2
    for half in range(0, c + 1):
        side = 2 * half + 1
        window = erf[max(c - half, 0):c + half + 1, max(c - half, 0):c + half + 1]
        if window.sum() > threshold * total:
            side = min(side, h)
            return side, side * side / (h * w)
    return h, 1.0


def area_ratios(erf, thresholds=THRESHOLDS):
    """``{t: (side, ratio)}`` for every threshold."""
    return {t: high_contribution_area(erf, t) for t in thresholds}
