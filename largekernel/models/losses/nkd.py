"""Normalized Knowledge Distillation (NKD): Yang et al., "From Knowledge Distillation to Self-Knowledge
Distillation: A Unified Approach with Normalized Loss and Customized Soft Labels", ICCV 2023 (first released as
"Rethinking Knowledge Distillation via Cross-Entropy", arXiv:2208.10139, the version the ConvNeSt paper cites).

With ``T_i`` / ``S_i`` the teacher's / student's softmax probabilities, ``t`` the target class and ``N(.)`` the
normalisation of the non-target probabilities to a distribution, ``N(P_i) = P_i / (1 - P_t)`` (the same as a softmax
over the non-target logits alone), the NKD loss of one sample is

    L_NKD = - T_t * log(S_t)  -  gamma * lambda^2 * sum_{i != t} N(T_i^lambda) * log N(S_i^lambda)

the target term at temperature 1 (the student's target log-probability weighted by the teacher's target
probability) plus the cross-entropy between the normalised non-target distributions at temperature ``lambda``. The
student's total loss is its usual classification loss plus ``L_NKD``; the paper's ImageNet setting is
``lambda = 1``, ``gamma = 1.5``.
"""
import torch
import torch.nn.functional as F
from torch import nn

from ...registry import MODELS


def nkd_terms(student_logits, teacher_logits, target, *, temperature=1.0):
    """Per-sample NKD target term ``-T_t log S_t`` and non-target term ``-lambda^2 sum N(T_i) log N(S_i)`` (not
    yet weighted by gamma). ``target`` holds class indices (N,); the teacher's logits are treated as constants."""
    n, c = student_logits.shape
    teacher_logits = teacher_logits.detach()
    index = target.view(n, 1)
    target_term = -(teacher_logits.softmax(dim=1).gather(1, index)
                    * student_logits.log_softmax(dim=1).gather(1, index)).squeeze(1)
    # the non-target logits, in class order: a softmax over them is the normalised non-target distribution
    keep = torch.ones_like(student_logits, dtype=torch.bool).scatter_(1, index, False)
    student_rest = student_logits[keep].view(n, c - 1) / temperature
    teacher_rest = teacher_logits[keep].view(n, c - 1) / temperature
    non_target_term = -(teacher_rest.softmax(dim=1) * student_rest.log_softmax(dim=1)).sum(dim=1)
    return target_term, non_target_term * temperature ** 2


@MODELS.register_module()
class NKDLoss(nn.Module):
    """The NKD loss (see the module docstring) of student logits against frozen teacher logits, averaged over the
    batch and scaled by ``loss_weight``.

    Args:
        temperature (float): ``lambda``, the temperature of the non-target distributions. Default 1.0.
        gamma (float): weight of the non-target term. Default 1.5 (the NKD paper's ImageNet value).
        loss_weight (float): factor on the whole loss. Default 1.0.

    ``forward(student_logits, teacher_logits, target)``: ``target`` is either class indices (N,) or soft labels
    (N, C) as Mixup / CutMix produce them; NKD needs one target class per sample, and for soft labels it takes the
    class of the largest weight (the dominant image of a mixed pair), as the NKD authors do.
    """

    def __init__(self, *, temperature=1.0, gamma=1.5, loss_weight=1.0):
        super().__init__()
        for name, value in (('temperature', temperature), ('gamma', gamma), ('loss_weight', loss_weight)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f'NKDLoss: {name} must be a number, got {value!r}')
        if temperature <= 0:
            raise ValueError(f'NKDLoss: temperature must be positive, got {temperature}')
        if gamma < 0 or loss_weight < 0:
            raise ValueError(f'NKDLoss: gamma and loss_weight must be >= 0, got gamma={gamma}, '
                             f'loss_weight={loss_weight}')
        self.temperature, self.gamma, self.loss_weight = float(temperature), float(gamma), float(loss_weight)

    def forward(self, student_logits, teacher_logits, target):
        target = self._target_classes(student_logits, teacher_logits, target)
        target_term, non_target_term = nkd_terms(student_logits, teacher_logits, target,
                                                 temperature=self.temperature)
        return self.loss_weight * (target_term + self.gamma * non_target_term).mean()

    @staticmethod
    def _target_classes(student_logits, teacher_logits, target):
        if student_logits.dim() != 2 or student_logits.shape != teacher_logits.shape:
            raise ValueError(f'NKDLoss: student and teacher logits must both be (N, num_classes), got '
                             f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}')
        n, c = student_logits.shape
        if c < 2:
            raise ValueError(f'NKDLoss: needs at least 2 classes (a target and a non-target), got {c}')
        if target.dim() == 2 and target.shape == (n, c) and target.is_floating_point():
            target = target.argmax(dim=1)
        elif target.shape != (n,) or target.is_floating_point():
            raise ValueError(f'NKDLoss: target must be class indices ({n},) or soft labels ({n}, {c}), got '
                             f'{target.dtype} {tuple(target.shape)}')
        if n and (target.min() < 0 or target.max() >= c):
            raise ValueError(f'NKDLoss: target classes must lie in [0, {c - 1}], got {target.min().item()}..'
                             f'{target.max().item()}')
        return target

    def extra_repr(self):
        return f'temperature={self.temperature}, gamma={self.gamma}, loss_weight={self.loss_weight}'
