"""Parameter and MAC counting in the papers' convention.

The papers report "FLOPs" as multiply-accumulates of convolutions and linear layers of the inference structure:
we count exactly those, per image, with forward hooks. A module that computes with functional ops (deformable
sampling, shifted strips, ...) defines ``count_macs(inputs, output) -> int``; it is then counted by that method
alone, and its sub-modules are skipped. Ours, not mmcv's or mmengine's ``get_model_complexity_info``: those also
count norms and pooling (mmcv's also activations and bias adds; mmengine's traces the model with JIT), and neither
knows ``count_macs`` nor runs on the meta device, where the published-size tests count the big variants.
"""
import torch
from torch import nn


def count_params(model, nonzero=False):
    """Number of parameters; with ``nonzero=True`` only the non-zero entries (sparse-trained models)."""
    if nonzero:
        return sum(int(torch.count_nonzero(p)) for p in model.parameters())
    return sum(p.numel() for p in model.parameters())


def _conv_macs(module, output):
    k = module.weight.shape[2:].numel()
    return output.numel() * (module.in_channels // module.groups) * k


def _linear_macs(module, output):
    return output.numel() * module.in_features


@torch.no_grad()
def count_macs(model, input_shape=(1, 3, 224, 224), inputs=None):
    """MACs per image of ``model(x)`` for ``x`` of ``input_shape`` (or the given ``inputs`` tensor)."""
    custom = [m for m in model.modules() if hasattr(m, 'count_macs') and m is not model]
    skipped = {id(sub) for m in custom for sub in m.modules() if sub is not m}
    total = [0]

    def hook(module, args, output):
        if id(module) in skipped:
            return
        if hasattr(module, 'count_macs'):
            total[0] += int(module.count_macs(args, output))
        elif isinstance(module, nn.Conv2d):
            total[0] += _conv_macs(module, output)
        elif isinstance(module, nn.Linear):
            total[0] += _linear_macs(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if m is not model and (hasattr(m, 'count_macs') or isinstance(m, (nn.Conv2d, nn.Linear)))]
    was_training = model.training
    model.eval()
    try:
        x = inputs if inputs is not None else torch.zeros(input_shape)
        model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total[0] // x.shape[0]
