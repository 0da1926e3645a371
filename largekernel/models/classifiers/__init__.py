from .distill import DistillImageClassifier, build_teacher

__all__ = ['DistillImageClassifier', 'build_teacher']
