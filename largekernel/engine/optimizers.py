"""Layer-wise learning-rate decay for any largekernel backbone (BEiT/ConvNeXt fine-tuning recipe).

The backbone maps each of its parameter names to a group id in ``[0, num_layers + 1]`` with ``layer_id(name,
num_layers)``; the group's learning rate is ``lr * decay_rate ** (num_layers + 1 - id)``. Parameters outside the
backbone (neck, heads) get id ``num_layers + 1`` (scale 1). Weight decay is off for 1-D parameters and biases, as in
the official UniRepLKNet/RepLKNet/ConvNeXt code (so the 4-D GRN gamma/beta are decayed).
mmdet/mmseg's own ``LearningRateDecayOptimizerConstructor`` hard-codes ConvNeXt module names, hence this one.
"""
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor

from ..registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``paramwise_cfg=dict(layer_decay_rate=0.8, num_layers=12)``; no other paramwise keys are accepted."""

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'layer_decay_rate', 'num_layers'}
        if unknown or 'layer_decay_rate' not in paramwise_cfg:
            raise KeyError(f'LayerDecayOptimWrapperConstructor: paramwise_cfg needs layer_decay_rate (and optionally '
                           f'num_layers, default 12); unknown keys: {sorted(unknown)}')
        self.decay_rate = float(paramwise_cfg['layer_decay_rate'])
        self.num_layers = int(paramwise_cfg.get('num_layers', 12))
        if not 0 < self.decay_rate <= 1:
            raise ValueError(f'layer_decay_rate={self.decay_rate} must lie in (0, 1]')
        super().__init__(optim_wrapper_cfg, None)
        # mmengine only calls add_params() when paramwise_cfg is non-empty
        self.paramwise_cfg = dict(layer_decay_rate=self.decay_rate, num_layers=self.num_layers)

    def add_params(self, params, module, prefix='', is_dcn_module=None):
        if is_model_wrapper(module):
            module = module.module
        backbone = getattr(module, 'backbone', module)
        if not hasattr(backbone, 'layer_id'):
            raise TypeError(f'{type(backbone).__name__} has no layer_id(); layer-wise decay needs a largekernel '
                            'backbone')
        in_backbone = backbone is not module
        base_lr, base_wd = self.base_lr, self.base_wd or 0.0
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            if in_backbone:
                lid = backbone.layer_id(name[len('backbone.'):], self.num_layers) \
                    if name.startswith('backbone.') else self.num_layers + 1
            else:
                lid = backbone.layer_id(name, self.num_layers)
            no_decay = param.ndim == 1 or name.endswith('.bias')
            key = (lid, no_decay)
            if key not in groups:
                scale = self.decay_rate ** (self.num_layers + 1 - lid)
                groups[key] = dict(params=[], lr=base_lr * scale, lr_scale=scale,
                                   weight_decay=0.0 if no_decay else base_wd, param_names=[])
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)
        for key in sorted(groups):
            group = groups[key]
            print_log(f'layer decay group id={key[0]} decay={not key[1]}: lr_scale={group["lr_scale"]:.4g}, '
                      f'{len(group["params"])} tensors', logger='current')
            group.pop('param_names')
            params.append(group)
