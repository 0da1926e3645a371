from .optimizers import LayerDecayOptimWrapperConstructor
from .sparse import DynamicSparseHook

__all__ = ['LayerDecayOptimWrapperConstructor', 'DynamicSparseHook']
