"""largekernel: large-kernel ConvNets for the OpenMMLab stack.

Importing the package installs the runtime fixes of ``largekernel.engine.runtime_fixes`` (safe checkpoint loading,
CPU distributed training, AMP fallback without a GPU) and registers every model variant with timm
(``largekernel.models.timm_models``).
"""
from .engine.runtime_fixes import install as _install_runtime_fixes

__version__ = '0.1.0'

_install_runtime_fixes()

from .models import timm_models as _timm_models  # noqa: E402,F401 (registers every variant with timm)
