"""Scoped registries of the ``largekernel`` package.

Each registry is a child of mmengine's root registry with scope ``largekernel``. Configs of any OpenMMLab
toolbox (mmpretrain, mmdet, mmseg, mmdet3d) keep their own ``default_scope`` and refer to our classes with the
scoped name, e.g. ``type='largekernel.UniRepLKNet'``; mmengine then imports this module and the ``locations``
below on first use, so no ``custom_imports`` is needed.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='largekernel', locations=['largekernel.models'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope='largekernel',
    locations=['largekernel.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='largekernel', locations=['largekernel.engine'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='largekernel', locations=['largekernel.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='largekernel', locations=['largekernel.datasets'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='largekernel', locations=['largekernel.evaluation'])
