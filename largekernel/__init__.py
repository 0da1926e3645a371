"""largekernel: large-kernel ConvNets for the OpenMMLab stack.

Importing the package installs the runtime fixes of ``largekernel.engine.runtime_fixes`` (safe checkpoint loading,
CPU distributed training, AMP fallback without a GPU).
"""
from .engine.runtime_fixes import install as _install_runtime_fixes

__version__ = '0.1.0'

_install_runtime_fixes()
