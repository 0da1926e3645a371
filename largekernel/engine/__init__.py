from . import checks, fsdp
from .hooks import EpochSeedHook, StepEMAHook
from .optimizers import LayerDecayOptimWrapperConstructor
from .sparse import DynamicSparseHook, KeepSparsityHook

checks.install()   # the Runner checks of largekernel.engine.checks, whenever largekernel is imported

__all__ = ['DynamicSparseHook', 'EpochSeedHook', 'KeepSparsityHook', 'LayerDecayOptimWrapperConstructor',
           'StepEMAHook']
