from .backbones import *  # noqa: F401,F403  (registers every backbone)
from .classifiers import *  # noqa: F401,F403  (registers the distillation classifier)
from .losses import *  # noqa: F401,F403  (registers the distillation losses)
from . import embedders  # noqa: F401  (registers the modality embedders and wrappers)
