"""Layer-wise learning-rate decay for any largekernel backbone (BEiT/ConvNeXt fine-tuning recipe).

``decay_type='layer_wise'`` (default): the backbone maps each of its parameter names to a group id in
``[0, num_layers + 1]`` with its own ``layer_id(name, num_layers)`` (ConvNeXt's mapping for UniRepLKNet, SLaK,
ShiftWise, UniConvNet and ConvNeSt; RepLKNet's 14-group mapping; block-wise for ConvNeStIsotropic). A
``num_layers`` too small for the backbone raises (it would push some groups above the base lr).
``decay_type='stage_wise'``: ConvNeXt's stage-wise groups (the SLaK UPerNet recipe, 0.9 over 6 layers): every
``downsample_layers`` parameter 0, ``stages.i`` -> ``i + 1``, the rest ``num_layers + 1``; needs
``num_layers >= num_stages``.
The group's learning rate is ``lr * decay_rate ** (num_layers + 1 - id)``. Parameters outside the backbone (neck,
heads) get id ``num_layers + 1`` (scale 1). Weight decay is off for 1-D parameters and biases, as in the official
UniRepLKNet/RepLKNet/ConvNeXt code (so the 4-D GRN gamma/beta are decayed).
mmdet/mmseg's own ``LearningRateDecayOptimizerConstructor`` hard-codes ConvNeXt module names, hence this one.
"""
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor

from ..registry import OPTIM_WRAPPER_CONSTRUCTORS

DECAY_TYPES = ('layer_wise', 'stage_wise')


def stage_wise_id(name, num_layers):
    """ConvNeXt's stage-wise group of a backbone parameter: downsampling 0, ``stages.i`` -> ``i + 1``, rest last."""
    parts = name.split('.')
    if parts[0] == 'downsample_layers':
        return 0
    if parts[0] == 'stages':
        return int(parts[1]) + 1
    return num_layers + 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``paramwise_cfg=dict(layer_decay_rate=0.8, num_layers=12, decay_type='layer_wise')``; no other paramwise
    keys are accepted."""

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'layer_decay_rate', 'num_layers', 'decay_type'}
        if unknown or 'layer_decay_rate' not in paramwise_cfg:
            raise KeyError(f'LayerDecayOptimWrapperConstructor: paramwise_cfg needs layer_decay_rate (and optionally '
                           f'num_layers, default 12, and decay_type); unknown keys: {sorted(unknown)}')
        self.decay_rate = float(paramwise_cfg['layer_decay_rate'])
        self.num_layers = paramwise_cfg.get('num_layers', 12)
        self.decay_type = paramwise_cfg.get('decay_type', 'layer_wise')
        if not 0 < self.decay_rate <= 1:
            raise ValueError(f'layer_decay_rate={self.decay_rate} must lie in (0, 1]')
        if isinstance(self.num_layers, bool) or not isinstance(self.num_layers, int) or self.num_layers < 1:
            raise ValueError(f'num_layers={self.num_layers!r} must be a positive int')
        if self.decay_type not in DECAY_TYPES:
            raise ValueError(f'decay_type={self.decay_type!r}; valid: {DECAY_TYPES}')
        super().__init__(optim_wrapper_cfg, None)
        # mmengine only calls add_params() when paramwise_cfg is non-empty
        self.paramwise_cfg = dict(layer_decay_rate=self.decay_rate, num_layers=self.num_layers,
                                  decay_type=self.decay_type)

    def add_params(self, params, module, prefix='', is_dcn_module=None):
        if is_model_wrapper(module):
            module = module.module
        backbone = getattr(module, 'backbone', module)
        if not hasattr(backbone, 'layer_id'):
            raise TypeError(f'{type(backbone).__name__} has no layer_id(); layer-wise decay needs a largekernel '
                            'backbone')
        if self.decay_type == 'stage_wise' and self.num_layers < getattr(backbone, 'num_stages', 0):
            raise ValueError(f'stage-wise decay: num_layers={self.num_layers} is too small for '
                             f'{type(backbone).__name__} with {backbone.num_stages} stages; needs num_layers >= '
                             f'{backbone.num_stages}')
        backbone_id = stage_wise_id if self.decay_type == 'stage_wise' else backbone.layer_id
        in_backbone = backbone is not module
        base_lr, base_wd = self.base_lr, self.base_wd or 0.0
        groups = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            if in_backbone:
                lid = backbone_id(name[len('backbone.'):], self.num_layers) \
                    if name.startswith('backbone.') else self.num_layers + 1
            else:
                lid = backbone_id(name, self.num_layers)
            if not 0 <= lid <= self.num_layers + 1:
                raise ValueError(f'{type(backbone).__name__}: parameter {name!r} gets layer id {lid}, outside '
                                 f'[0, num_layers + 1 = {self.num_layers + 1}]; raise num_layers={self.num_layers}')
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
