"""Config-driven model helpers shared by the tools."""
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope


def build_model_from_config(config, cfg_options=None, deploy=None):
    """Build ``cfg.model`` under the config's default scope; ``deploy`` overrides ``model.backbone.deploy``."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if deploy is not None:
        cfg.model.backbone.deploy = deploy
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return MODELS.build(cfg.model)


def largekernel_backbones(model):
    from ..models.backbones.base import LargeKernelBackbone
    return [m for m in model.modules() if isinstance(m, LargeKernelBackbone)]


def switch_to_deploy(model):
    """Re-parameterise every largekernel backbone inside ``model`` in place; returns the model."""
    backbones = largekernel_backbones(model)
    if not backbones:
        raise TypeError(f'{type(model).__name__} contains no largekernel backbone to re-parameterise')
    for backbone in backbones:
        backbone.switch_to_deploy()
    return model
