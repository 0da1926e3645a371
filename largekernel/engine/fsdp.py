"""Fully sharded data parallel training with mmengine's ``FSDPStrategy`` (``configs/_base_/strategies/fsdp.py``).

The largest variants (UniRepLKNet-XL/H, RepLKNet-XL) outgrow one GPU's memory under DDP; FSDP shards parameters,
gradients and optimizer states over the processes. Two pieces make mmengine's strategy fit here:

- ``size_based_auto_wrap_policy`` (torch's) is registered in mmengine's ``FUNCTIONS``, so a config names it;
- without CUDA, mmengine hands FSDP the local rank as a CUDA device id; ``fsdp_on_cpu`` points FSDP at the CPU
  (gloo) instead, which is how the 2-process CPU test runs it.

The sparse-training hooks keep per-parameter masks of full weights, which FSDP's sharded flat parameters do not
have: they refuse FSDP (``check_not_fsdp``).
"""
import torch
from mmengine.registry import FUNCTIONS
from torch.distributed.fsdp import FullyShardedDataParallel
from torch.distributed.fsdp.wrap import size_based_auto_wrap_policy

if FUNCTIONS.get('size_based_auto_wrap_policy') is None:
    FUNCTIONS.register_module(name='size_based_auto_wrap_policy', module=size_based_auto_wrap_policy)


def fsdp_on_cpu(cfg):
    """Without CUDA, make an ``FSDPStrategy`` config run FSDP on the CPU: ``model_wrapper.device_id='cpu'``
    (unless the config sets one), and full state dicts gathered on every rank without CPU offload (torch 2.13
    crashes gathering a rank-0-only, CPU-offloaded optimizer state from CPU processes). Returns ``cfg``."""
    strategy = cfg.get('strategy')
    if strategy and strategy.get('type') == 'FSDPStrategy' and not torch.cuda.is_available():
        wrapper = strategy.get('model_wrapper') or dict(type='MMFullyShardedDataParallel')
        wrapper.setdefault('device_id', 'cpu')
        strategy['model_wrapper'] = wrapper
        state_dict_cfg = strategy.get('state_dict_cfg')
        if isinstance(state_dict_cfg, dict):
            for key in ('state_dict_config', 'optim_state_dict_config'):
                if isinstance(state_dict_cfg.get(key), dict):
                    state_dict_cfg[key].update(offload_to_cpu=False, rank0_only=False)
        elif state_dict_cfg == 'full':
            strategy['state_dict_cfg'] = dict(
                state_dict_type='FULL_STATE_DICT',
                state_dict_config=dict(type='FullStateDictConfig', offload_to_cpu=False, rank0_only=False),
                optim_state_dict_config=dict(type='FullOptimStateDictConfig', offload_to_cpu=False,
                                             rank0_only=False))
    return cfg


def check_not_fsdp(model, hook):
    """Raise a RuntimeError naming ``hook`` if ``model`` (or a part of it) is FSDP-wrapped."""
    if any(isinstance(m, FullyShardedDataParallel) for m in model.modules()):
        raise RuntimeError(f'{hook} does not support FSDPStrategy: its masks cover whole weights, and FSDP shards '
                           'them into flat parameters. Train sparse with DDP (drop the strategy / runner_type from '
                           'the config), or train densely under FSDP')
