from .hooks import EpochSeedHook, StepEMAHook
from .optimizers import LayerDecayOptimWrapperConstructor
from .sparse import DynamicSparseHook, KeepSparsityHook

__all__ = ['DynamicSparseHook', 'EpochSeedHook', 'KeepSparsityHook', 'LayerDecayOptimWrapperConstructor',
           'StepEMAHook']
