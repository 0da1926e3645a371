"""Layer-wise learning-rate decay for any largekernel backbone (BEiT/ConvNeXt fine-tuning recipe).

The backbone maps each of its parameter names to a group id in ``[0, num_layers + 1]`` with ``layer_id(name,
num_layers)``; the group's learning rate is ``lr * decay_rate ** (num_layers + 1 - id)``. Parameters outside the
backbone (neck, heads) get id ``num_layers + 1`` (scale 1). Weight decay is off for 1-D parameters and biases, as in
the official UniRepLKNet/RepLKNet/ConvNeXt code (so the 4-D GRN gamma/beta are decayed).
``decay_type='stage_wise'`` is ConvNeXt's stage-wise variant (the SLaK and ConvNeXt UPerNet recipes, num_layers 6):
every downsampling layer (stem included) -> 0, stage i -> i + 1, everything else -> num_layers + 1.
mmdet/mmseg's own ``LearningRateDecayOptimizerConstructor`` hard-codes ConvNeXt module names, hence this one.
"""
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor

from ..registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``paramwise_cfg=dict(layer_decay_rate=0.8, num_layers=12)`` and optionally ``decay_type`` (``'layer_wise'``,
    the default, or ``'stage_wise'``); no other paramwise keys are accepted."""

    decay_types = ('layer_wise', 'stage_wise')

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'layer_decay_rate', 'num_layers', 'decay_type'}
        if unknown or 'layer_decay_rate' not in paramwise_cfg:
            raise KeyError(f'LayerDecayOptimWrapperConstructor: paramwise_cfg needs layer_decay_rate (and optionally '
                           f'num_layers, default 12, and decay_type); unknown keys: {sorted(unknown)}')
        self.decay_rate = float(paramwise_cfg['layer_decay_rate'])
        self.num_layers = int(paramwise_cfg.get('num_layers', 12))
        self.decay_type = paramwise_cfg.get('decay_type', 'layer_wise')
        if not 0 < self.decay_rate <= 1:
            raise ValueError(f'layer_decay_rate={self.decay_rate} must lie in (0, 1]')
        if self.decay_type not in self.decay_types:
            raise ValueError(f'decay_type={self.decay_type!r} is not one of {self.decay_types}')
        super().__init__(optim_wrapper_cfg, None)
        # mmengine only calls add_params() when paramwise_cfg is non-empty
        self.paramwise_cfg = dict(layer_decay_rate=self.decay_rate, num_layers=self.num_layers)
        if self.decay_type != 'layer_wise':
            self.paramwise_cfg['decay_type'] = self.decay_type

    def group_id(self, backbone, name):
        """The decay group of backbone parameter ``name`` (see the module docstring)."""
        if self.decay_type == 'layer_wise':
            return backbone.layer_id(name, self.num_layers)
        parts = name.split('.')
        if parts[0] == 'downsample_layers':
            return 0
        if parts[0] == 'stages':
            return int(parts[1]) + 1
        return self.num_layers + 1

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
                lid = self.group_id(backbone, name[len('backbone.'):]) \
                    if name.startswith('backbone.') else self.num_layers + 1
            else:
                lid = self.group_id(backbone, name)
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
