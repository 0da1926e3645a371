from .complexity import count_macs, count_params
from .model import build_model_from_config, largekernel_backbones, switch_to_deploy

__all__ = ['build_model_from_config', 'count_macs', 'count_params', 'largekernel_backbones', 'switch_to_deploy']
