"""Fixes for mmengine 0.10.7 on torch >= 2.6 and on machines without a GPU (stack_notes.md).

``install()`` runs once when ``largekernel`` is imported:

1. Checkpoint loading: mmengine calls ``torch.load`` with torch's default ``weights_only=True`` (torch >= 2.6), which
   rejects every checkpoint the Runner saves (its message hub pickles ``HistoryBuffer``). Local files the user asked
   to load are read with ``weights_only=False``, as mmengine did before torch 2.6.
2. CPU distributed: ``--launcher pytorch`` initialises NCCL and calls ``torch.cuda.set_device``. Without CUDA we
   initialise a ``gloo`` process group instead, wrap models with ``device_ids=None`` and turn SyncBN into BN
   (SyncBN rejects CPU tensors).
3. AMP without a GPU: ``AmpOptimWrapper`` asserts a GPU; without one it warns and runs in fp32.
"""
import os.path as osp
import warnings

import torch
import torch.distributed as dist

_installed = False


def _load_local_trusted(filename, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    return torch.load(filename, map_location=map_location, weights_only=False)


def _patch_checkpoint_loading():
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', force=True)(_load_local_trusted)


def _patch_cpu_distributed():
    import mmengine.dist.utils as dist_utils
    from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

    original_init_pytorch = dist_utils._init_dist_pytorch

    def init_dist_pytorch(backend='nccl', init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original_init_pytorch(backend, init_backend=init_backend, **kwargs)
        if not dist.is_initialized():
            dist.init_process_group('gloo', **kwargs)

    dist_utils._init_dist_pytorch = init_dist_pytorch

    original_ddp_init = MMDistributedDataParallel.__init__

    def ddp_init(self, module, detect_anomalous_params=False, **kwargs):
        if not any(p.is_cuda for p in module.parameters()):
            module = revert_sync_batchnorm(module)
            kwargs['device_ids'] = None
            kwargs['output_device'] = None
        original_ddp_init(self, module=module, detect_anomalous_params=detect_anomalous_params, **kwargs)

    MMDistributedDataParallel.__init__ = ddp_init


def amp_available():
    return torch.cuda.is_available()


def _patch_amp_fallback():
    from mmengine.optim import AmpOptimWrapper, OptimWrapper

    original_new = AmpOptimWrapper.__new__

    def amp_new(cls, *args, **kwargs):
        if amp_available():
            return original_new(cls) if original_new is object.__new__ else original_new(cls, *args, **kwargs)
        warnings.warn('AMP was requested but no GPU is available: training runs in fp32 with a plain OptimWrapper')
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            kwargs.pop(key, None)
        return OptimWrapper(*args, **kwargs)

    AmpOptimWrapper.__new__ = amp_new


def install():
    global _installed
    if _installed:
        return
    _patch_checkpoint_loading()
    _patch_cpu_distributed()
    _patch_amp_fallback()
    _installed = True
