"""An image classifier trained with logit distillation from a frozen teacher (ConvNeSt §4.2: ConvNeSt students
distilled from SLaK teachers with NKD, following Huang et al., "Are Large Kernels Better Teachers than Transformers
for ConvNets?", ICML 2023)."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmpretrain.models import ImageClassifier
from mmpretrain.models.heads import ClsHead

from ...registry import MODELS
from ...utils.checkpoint import load_checkpoint
from ..converters.core import CheckpointMismatchError, unwrap


class _Detached:
    """Holds a module outside its owner's module tree: it has no entry in the owner's ``parameters()``,
    ``state_dict()``, optimizer, EMA copy or ``init_weights()``. A deep copy (the EMA model) shares it."""

    def __init__(self, module):
        self.module = module

    def __deepcopy__(self, memo):
        return self


def build_teacher(teacher, checkpoint):
    """The teacher classifier of ``teacher`` (a config file, whose ``model`` is used, or a model dict), loaded
    strictly from ``checkpoint``, frozen and in eval mode."""
    if isinstance(teacher, str):
        if not osp.isfile(teacher):
            raise FileNotFoundError(f'teacher config {teacher} not found (a path relative to the working directory, '
                                    'normally the repository root)')
        cfg = Config.fromfile(teacher)
        if 'model' not in cfg:
            raise KeyError(f'teacher config {teacher} has no "model"')
        model_cfg, scope = cfg.model.to_dict(), cfg.get('default_scope', 'mmpretrain')
    elif isinstance(teacher, dict):
        model_cfg, scope = dict(teacher), teacher.get('_scope_', 'mmpretrain')
    else:
        raise TypeError(f'teacher must be a config file path or a model dict, got {type(teacher).__name__}')
    if not isinstance(checkpoint, str):
        raise TypeError(f'teacher_checkpoint must be the path (or URL) of the teacher\'s weights, got {checkpoint!r}: '
                        'a distillation teacher is always a trained model')
    model_cfg['_scope_'] = scope
    model = MMENGINE_MODELS.build(model_cfg)
    state = unwrap(load_checkpoint(checkpoint, map_location='cpu'))
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unknown = [k for k in state if k not in own]
    mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                  for k, v in state.items() if k in own and v.shape != own[k].shape]
    if missing or unknown or mismatched:
        described = teacher if isinstance(teacher, str) else 'a model dict'
        form = 'deploy' if getattr(getattr(model, 'backbone', None), 'deploy', False) else 'training'
        raise CheckpointMismatchError(
            f'teacher checkpoint {checkpoint} does not match the teacher ({type(model).__name__} with a '
            f'{type(getattr(model, "backbone", model)).__name__} backbone in {form} form, from {described})',
            unknown=unknown, missing=missing, mismatched=mismatched,
            notes=['the checkpoint must be the trained teacher in largekernel\'s layout and in the form of the '
                   'teacher config (convert official weights with tools/model_converters/convert.py, adding '
                   '--deploy for a configs/<family>/deploy/ teacher)'])
    model.load_state_dict(state, strict=True)
    model.requires_grad_(False)
    return model.eval()


@MODELS.register_module()
class DistillImageClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` (the student) plus a frozen teacher whose logits feed a distillation loss.

    Args:
        teacher (str | dict): the teacher's config file (its ``model`` is used; nothing else of it is) or its model
            dict, e.g. ``configs/slak/slak-t_8xb128-accum4_in1k.py``.
        teacher_checkpoint (str): the teacher's trained weights, in largekernel's layout (convert official
            checkpoints with tools/model_converters/convert.py); loaded strictly: any key or shape mismatch raises,
            naming the file and the keys.
        distill_loss (dict): the distillation loss on (student logits, teacher logits, targets); default NKD.
        **kwargs: the student, as ``ImageClassifier`` takes it (``backbone``, ``neck``, ``head``, ``train_cfg``
            with the batch augments, ``data_preprocessor``, ``init_cfg``).

    Training loss: the head's loss (``loss_cls``, e.g. label-smoothed cross-entropy on the Mixup / CutMix mixed labels)
    plus ``loss_distill`` from the teacher's logits on the same (preprocessed, batch-augmented) images. The teacher
    is always in eval mode (``train()`` does not reach it) and lies outside the student's module tree, so it is in
    neither ``parameters()`` (the optimizer), the EMA copy nor ``state_dict()``: the saved checkpoint is the plain
    student's, loadable by the student's own config; ``to()`` / ``cuda()`` move it with the student. Prediction and
    ``mode='tensor'`` use the student only.
    """

    def __init__(self, *, teacher, teacher_checkpoint, distill_loss=dict(type='largekernel.NKDLoss'), **kwargs):
        super().__init__(**kwargs)
        if not isinstance(self.head, ClsHead):
            raise TypeError(f'DistillImageClassifier needs a classification head (an mmpretrain ClsHead), got '
                            f'{type(self.head).__name__}')
        self._teacher = _Detached(build_teacher(teacher, teacher_checkpoint))
        self.teacher_checkpoint = teacher_checkpoint
        student_classes = getattr(self.head, 'num_classes', None)
        teacher_classes = getattr(getattr(self.teacher, 'head', None), 'num_classes', None)
        if student_classes is not None and teacher_classes is not None and student_classes != teacher_classes:
            raise ValueError(f'teacher ({teacher_checkpoint}) predicts {teacher_classes} classes, the student '
                             f'{student_classes}: distillation needs the same classes')
        self.distill_loss = MODELS.build(distill_loss)

    @property
    def teacher(self):
        return self._teacher.module

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self.teacher._apply(fn, recurse)
        return self

    def loss(self, inputs, data_samples):
        cls_score = self.head(self.extract_feat(inputs))
        losses = self.head._get_loss(cls_score, data_samples)
        losses['loss_cls'] = losses.pop('loss')  # mmengine logs the sum of every loss_* term as 'loss'
        with torch.no_grad():
            teacher_score = self.teacher(inputs, mode='tensor')
        if not isinstance(teacher_score, torch.Tensor) or teacher_score.shape != cls_score.shape:
            shape = tuple(teacher_score.shape) if isinstance(teacher_score, torch.Tensor) else type(teacher_score)
            raise ValueError(f'the teacher gives logits {shape}, the student {tuple(cls_score.shape)}')
        if 'gt_score' in data_samples[0]:  # soft labels of the batch augments
            target = torch.stack([sample.gt_score for sample in data_samples])
        else:
            target = torch.cat([sample.gt_label for sample in data_samples])
        losses['loss_distill'] = self.distill_loss(cls_score, teacher_score, target)
        return losses

    def extra_repr(self):
        return (f'(teacher): frozen {type(self.teacher).__name__}({type(self.teacher.backbone).__name__}) from '
                f'{self.teacher_checkpoint}')
