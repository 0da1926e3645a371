from .backbones import *  # noqa: F401,F403  (registers every backbone)
from .classifiers import *  # noqa: F401,F403  (registers the distillation classifier)
from .losses import *  # noqa: F401,F403  (registers the distillation losses)
from . import embedders, heads  # noqa: F401  (register the other modalities' embedders, model wrappers and heads)
