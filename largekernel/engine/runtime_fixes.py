"""Every patch largekernel applies to mmengine (0.10.7, on torch >= 2.6 and on machines without a GPU), in one place.

``install()`` runs once when ``largekernel`` is imported; each patch has its test in tests/test_runtime.py.

1. Safe checkpoint loading. mmengine reads local files with torch's default ``weights_only=True`` (torch >= 2.6),
   which rejects every checkpoint its Runner saves (the message hub pickles ``HistoryBuffer``), and downloads
   (http(s)://, and torchvision://, open-mmlab://, mmcls://, which resolve to URLs) with ``weights_only=False``,
   which runs any code a file carries. ``CheckpointLoader``'s local scheme (``load_from``, ``resume``, mmengine's
   ``load_checkpoint`` and ``init_cfg`` Pretrained) and ``mmengine.runner.checkpoint.load_url`` are replaced by
   ``largekernel.utils.checkpoint.load_from_local`` / ``load_url``: weights-only unpickling with the allow-list the
   Runner's checkpoints need; full unpickling only on explicit opt-in (``LARGEKERNEL_UNSAFE_LOAD=1``). The pavi://
   and s3:// schemes keep mmengine's ``torch.load`` (weights-only, without the allow-list).
2. CPU distributed: ``--launcher pytorch`` initialises NCCL and calls ``torch.cuda.set_device``. Without CUDA we
   initialise a ``gloo`` process group instead, wrap models with ``device_ids=None`` and turn SyncBN into BN
   (SyncBN rejects CPU tensors).
3. AMP without a GPU: ``AmpOptimWrapper`` asserts a GPU. Without one it becomes ``CPUAutocastOptimWrapper``: the
   forward pass and loss run under CPU autocast in bfloat16 (CPUs autocast bf16 only; bf16 keeps fp32's exponent
   range, so no loss scaling: ``loss_scale`` does not apply); ``dtype='float16'`` is refused with that explanation.
4. mmaction2 1.2.0 (the video configs' toolbox) is published without ``mmaction/models/localizers/drn`` (mmaction2
   issue #2714), so ``import mmaction.models`` fails and mmengine cannot build any mmaction model. Where that package
   is missing we register a stand-in whose ``DRN`` raises an error saying so; every other mmaction model is
   untouched. (Not a patch of mmengine; it lives here so that every workaround is in one place.)

tools/test.py also makes its own Runner load the checkpoint strictly (on that instance, not a patch of mmengine).
"""
import contextlib
import warnings

import torch
import torch.distributed as dist

_installed = False


def _patch_checkpoint_loading():
    import mmengine.runner.checkpoint as mmengine_checkpoint
    from ..utils.checkpoint import load_from_local, load_url
    mmengine_checkpoint.CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    mmengine_checkpoint.load_url = load_url


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


def _cpu_autocast_wrapper_class():
    from mmengine.optim import OptimWrapper
    from mmengine.runner.amp import autocast

    class CPUAutocastOptimWrapper(OptimWrapper):
        """``OptimWrapper`` whose ``optim_context`` runs the forward pass under CPU autocast (bfloat16)."""

        @contextlib.contextmanager
        def optim_context(self, model):
            with super().optim_context(model), autocast(device_type='cpu', dtype=torch.bfloat16):
                yield

    return CPUAutocastOptimWrapper


def _patch_amp_fallback():
    from mmengine.optim import AmpOptimWrapper

    original_new = AmpOptimWrapper.__new__
    cpu_wrapper = _cpu_autocast_wrapper_class()

    def amp_new(cls, *args, **kwargs):
        if amp_available():
            return original_new(cls) if original_new is object.__new__ else original_new(cls, *args, **kwargs)
        dtype = kwargs.pop('dtype', None)
        if dtype not in (None, 'bfloat16', torch.bfloat16):
            raise ValueError(f'AmpOptimWrapper(dtype={dtype!r}) needs a GPU; without one, mixed precision is CPU '
                             "autocast in bfloat16: dtype='bfloat16' (or None)")
        warnings.warn('AMP without a GPU: training runs under CPU autocast in bfloat16 (no loss scaling)')
        for key in ('loss_scale', 'use_fsdp'):
            kwargs.pop(key, None)
        return cpu_wrapper(*args, **kwargs)

    AmpOptimWrapper.__new__ = amp_new


def _patch_mmaction_drn():
    import importlib.util
    import os.path as osp
    import sys
    import types
    spec = importlib.util.find_spec('mmaction')
    if spec is None or 'mmaction.models.localizers.drn' in sys.modules:
        return
    if osp.isdir(osp.join(spec.submodule_search_locations[0], 'models', 'localizers', 'drn')):
        return

    class DRN:
        def __init__(self, *args, **kwargs):
            raise ImportError('mmaction2 1.2.0 is published without mmaction/models/localizers/drn (mmaction2 issue '
                              '#2714): the DRN localizer needs mmaction2 installed from its source tree')

    package = types.ModuleType('mmaction.models.localizers.drn')
    package.__path__ = []
    module = types.ModuleType('mmaction.models.localizers.drn.drn')
    module.DRN = package.DRN = DRN
    sys.modules[package.__name__], sys.modules[module.__name__] = package, module


def install():
    global _installed
    if _installed:
        return
    _patch_checkpoint_loading()
    _patch_cpu_distributed()
    _patch_amp_fallback()
    _patch_mmaction_drn()
    _installed = True
