from .hooks import EpochSeedHook
from .optimizers import LayerDecayOptimWrapperConstructor
from .sparse import DynamicSparseHook

__all__ = ['DynamicSparseHook', 'LayerDecayOptimWrapperConstructor', 'EpochSeedHook']
