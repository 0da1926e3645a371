"""Distillation (ConvNeSt §4.2, appendix Table 11): the NKD loss against its formula, the frozen teacher of
DistillImageClassifier, and a short distillation run on the committed Fashion-MNIST subset."""
import copy
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from largekernel.models.converters.core import CheckpointMismatchError
from largekernel.models.losses import NKDLoss, nkd_terms
from largekernel.utils.checkpoint import load_checkpoint
from largekernel.utils.model_index import get_model, list_models

pytestmark = pytest.mark.usefixtures('single_thread')


# ----------------------------------------------------------------------------------------------------- NKD loss
def _nkd_by_loops(student, teacher, target, temperature, gamma):
    """The NKD loss written out element by element in float64 (Yang et al.: -T_t log S_t - gamma lambda^2
    sum_{i != t} N(T_i^lambda) log N(S_i^lambda), N(P_i) = P_i / (1 - P_t)), averaged over the batch."""
    def softmax(row, tau):
        e = [math.exp(v / tau) for v in row]
        return [v / sum(e) for v in e]

    total = 0.0
    for s_row, t_row, t in zip(student.tolist(), teacher.tolist(), target.tolist()):
        s1, t1 = softmax(s_row, 1.0), softmax(t_row, 1.0)
        loss = -t1[t] * math.log(s1[t])
        s_tau, t_tau = softmax(s_row, temperature), softmax(t_row, temperature)
        non_target = 0.0
        for i in range(len(s_row)):
            if i != t:
                non_target += t_tau[i] / (1 - t_tau[t]) * math.log(s_tau[i] / (1 - s_tau[t]))
        total += loss - gamma * temperature ** 2 * non_target
    return total / len(target)


@pytest.mark.parametrize('temperature, gamma', [(1.0, 1.5), (2.0, 1.0), (0.5, 0.0)])
def test_nkd_matches_the_formula(temperature, gamma):
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(6, 7, generator=g) * 3, torch.randn(6, 7, generator=g) * 3
    target = torch.tensor([0, 6, 3, 3, 1, 5])
    expected = _nkd_by_loops(student.double(), teacher.double(), target, temperature, gamma)
    loss = NKDLoss(temperature=temperature, gamma=gamma, loss_weight=2.0)(student, teacher, target)
    assert loss.item() == pytest.approx(2 * expected, rel=1e-5)


def test_nkd_terms_properties():
    g = torch.Generator().manual_seed(1)
    teacher, target = torch.randn(5, 10, generator=g, dtype=torch.float64), torch.tensor([2, 0, 9, 4, 4])
    # a student whose non-target logits equal the teacher's up to a shift is at the minimum of the non-target term:
    # zero gradient there, and the term is the (lambda^2-scaled) entropy of the teacher's non-target distribution
    student = (teacher + 0.7).clone()
    student[torch.arange(5), target] = torch.randn(5, generator=g, dtype=torch.float64) * 4
    student.requires_grad_(True)
    _, non_target = nkd_terms(student, teacher, target, temperature=2.0)
    non_target.sum().backward()
    assert student.grad.abs().max() < 1e-12
    keep = torch.ones_like(teacher, dtype=torch.bool).scatter_(1, target[:, None], False)
    p = (teacher[keep].view(5, 9) / 2.0).softmax(1)
    torch.testing.assert_close(non_target.detach(), 4.0 * -(p * p.log()).sum(1))
    # the non-target term ignores the target logits; the target term is CE weighted by the teacher's target prob
    moved = student.detach().clone()
    moved[torch.arange(5), target] += 3.0
    target_term, moved_non_target = nkd_terms(moved, teacher, target, temperature=2.0)
    torch.testing.assert_close(moved_non_target, non_target.detach())
    ce = torch.nn.functional.cross_entropy(moved, target, reduction='none')
    torch.testing.assert_close(target_term, teacher.softmax(1)[torch.arange(5), target] * ce)
    # no gradient reaches the teacher's logits
    teacher_leaf = teacher.clone().requires_grad_(True)
    NKDLoss()(student, teacher_leaf, target).backward()
    assert teacher_leaf.grad is None


def test_nkd_soft_labels_use_the_dominant_class():
    g = torch.Generator().manual_seed(2)
    student, teacher = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    hard = torch.tensor([1, 4, 0, 2])
    mixed = 0.7 * torch.nn.functional.one_hot(hard, 5).float() + 0.3 * torch.nn.functional.one_hot(
        torch.tensor([3, 0, 2, 2]), 5).float()
    assert NKDLoss()(student, teacher, mixed).item() == pytest.approx(NKDLoss()(student, teacher, hard).item())


def test_nkd_bad_input():
    s, t = torch.zeros(3, 4), torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r'student and teacher logits must both be \(N, num_classes\), got '
                                         r'\(3, 4\) and \(3, 5\)'):
        NKDLoss()(s, torch.zeros(3, 5), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r'target classes must lie in \[0, 3\], got 0..4'):
        NKDLoss()(s, t, torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match=r'target must be class indices \(3,\) or soft labels \(3, 4\), got '):
        NKDLoss()(s, t, torch.zeros(3, 5))
    with pytest.raises(ValueError, match='at least 2 classes'):
        NKDLoss()(torch.zeros(3, 1), torch.zeros(3, 1), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match='temperature must be positive, got 0'):
        NKDLoss(temperature=0)
    with pytest.raises(TypeError, match="gamma must be a number, got '1.5'"):
        NKDLoss(gamma='1.5')


# ------------------------------------------------------------------------------ teacher-student classifier
def _classifier(backbone):
    return dict(
        type='ImageClassifier', backbone=dict(in_channels=1, out_indices=(3,), gap_before_final_norm=True, **backbone),
        neck=None, head=dict(type='LinearClsHead', num_classes=10, in_channels=backbone['arch']['dims'][-1],
                             loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))


TEACHER = _classifier(dict(type='largekernel.SLaK', arch=dict(depths=(1, 1, 1, 1), dims=(16, 32, 48, 64),
                                                              width_factor=1.0),
                           kernel_sizes=(9, 7, 5, 5), small_kernel=3))
OTHER_TEACHER = _classifier(dict(type='largekernel.UniRepLKNet', arch=dict(
    depths=(1, 1, 1, 1), dims=(16, 32, 48, 64), kernel_sizes=((5,), (3,), (3,), (3,)))))
STUDENT = _classifier(dict(type='largekernel.ConvNeSt', arch=dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32)),
                           expansion_ratio=4))
DATASET = dict(type='FashionMNIST', data_root='data/fashion_mnist_subset', download=False)
PIPELINE = [dict(type='Resize', scale=32), dict(type='PackInputs')]  # 4 stages: 8, 4, 2, 1 pixels


@pytest.fixture(scope='module')
def teacher_checkpoints(tmp_path_factory):
    """Checkpoints (mmengine layout) of the SLaK teacher and of a UniRepLKNet of the same size."""
    init_default_scope('mmpretrain')
    root = tmp_path_factory.mktemp('teachers')
    paths = {}
    for name, cfg in (('slak', TEACHER), ('unireplknet', OTHER_TEACHER)):
        torch.manual_seed(0)
        model = MMENGINE_MODELS.build(copy.deepcopy(cfg))
        model.init_weights()
        paths[name] = str(root / f'{name}.pth')
        torch.save(dict(meta=dict(), state_dict=model.state_dict()), paths[name])
    return paths


def _distill_model(checkpoint, teacher=TEACHER, **kwargs):
    return dict(STUDENT, type='largekernel.DistillImageClassifier', teacher=copy.deepcopy(teacher),
                teacher_checkpoint=checkpoint, distill_loss=dict(type='largekernel.NKDLoss', gamma=1.5), **kwargs)


def _train_config(work_dir, model):
    return Config(dict(
        default_scope='mmpretrain', work_dir=str(work_dir), model=model,
        data_preprocessor=dict(num_classes=10, mean=[72.94], std=[90.02], to_rgb=False),
        train_dataloader=dict(batch_size=16, num_workers=0, dataset=dict(**DATASET, split='train', pipeline=PIPELINE),
                              sampler=dict(type='DefaultSampler', shuffle=True)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=3),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False)),
        # the recipe's EMA copy must not duplicate or alter the teacher
        custom_hooks=[dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')],
        randomness=dict(seed=0), env_cfg=dict(dist_cfg=dict(backend='gloo')), log_level='WARNING'))


def test_distillation_run_on_fashion_mnist(tmp_path, teacher_checkpoints):
    """A few iterations with Mixup / CutMix (the recipe's batch augments): the NKD term is in the loss, the teacher
    is bit-identical afterwards, outside the optimizer and the checkpoint, and the student's checkpoint loads
    strictly into the plain student config."""
    model = _distill_model(teacher_checkpoints['slak'],
                           train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))
    runner = Runner.from_cfg(_train_config(tmp_path, model))
    distilled = runner.model
    teacher_before = {k: v.clone() for k, v in distilled.teacher.state_dict().items()}
    runner.train()

    assert not distilled.teacher.training and distilled.training  # train() never reaches the teacher
    for key, value in distilled.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key
    assert all(not p.requires_grad and p.grad is None for p in distilled.teacher.parameters())
    optimized = {id(p) for group in runner.optim_wrapper.optimizer.param_groups for p in group['params']}
    assert optimized == {id(p) for p in distilled.parameters()}
    assert not optimized & {id(p) for p in distilled.teacher.parameters()}
    logged = runner.message_hub.get_scalar('train/loss_distill').data[0]
    assert len(logged) == 3 and all(v > 0 for v in logged)
    total, head = (runner.message_hub.get_scalar(f'train/{k}').current() for k in ('loss', 'loss_cls'))
    assert total == pytest.approx(head + logged[-1])

    checkpoint = load_checkpoint(str(tmp_path / 'iter_3.pth'))
    student = MMENGINE_MODELS.build(copy.deepcopy(STUDENT))
    student.load_state_dict(checkpoint['state_dict'], strict=True)  # exactly the plain student's keys
    assert set(checkpoint['ema_state_dict']) == {'steps', *('module.' + k for k in student.state_dict())}


def test_distillation_term_changes_the_gradient(teacher_checkpoints):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MMENGINE_MODELS.build(_distill_model(teacher_checkpoints['slak'], data_preprocessor=dict(
        type='ClsDataPreprocessor', num_classes=10, mean=[72.94], std=[90.02], to_rgb=False)))
    dataset = Runner.build_dataloader(dict(batch_size=8, num_workers=0, dataset=dict(
        **DATASET, split='train', pipeline=PIPELINE), sampler=dict(type='DefaultSampler', shuffle=False)))
    batch = model.data_preprocessor(next(iter(dataset)), training=True)
    model.train()
    assert not model.teacher.training
    losses = model(**batch, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_distill'} and losses['loss_distill'] > 0
    weight = next(model.backbone.parameters())  # the stem's conv: the term reaches the whole student
    head_grad = torch.autograd.grad(losses['loss_cls'], weight, retain_graph=True)[0]
    total_grad = torch.autograd.grad(losses['loss_cls'] + losses['loss_distill'], weight)[0]
    assert not torch.allclose(head_grad, total_grad)
    # prediction and tensor mode are the student's alone
    student = MMENGINE_MODELS.build(copy.deepcopy(STUDENT))
    student.load_state_dict(model.state_dict(), strict=True)
    model.eval(), student.eval()
    torch.testing.assert_close(model(batch['inputs']), student(batch['inputs']))


def test_teacher_checkpoint_must_match_its_config(teacher_checkpoints, tmp_path):
    init_default_scope('mmpretrain')
    path = teacher_checkpoints['unireplknet']
    with pytest.raises(CheckpointMismatchError, match=(
            rf'teacher checkpoint {path} does not match the teacher \(ImageClassifier with a SLaK backbone in '
            r"training form, from a model dict\): \d+ unknown keys: \['backbone\..*"
            r"\d+ missing keys: \['backbone\.")):
        MMENGINE_MODELS.build(_distill_model(path))
    deploy_teacher = copy.deepcopy(TEACHER)  # the right architecture in the other form
    deploy_teacher['backbone']['deploy'] = True
    with pytest.raises(CheckpointMismatchError, match=r'slak.pth does not match the teacher .*SLaK backbone in '
                                                      r'deploy form.*missing keys: .*--deploy'):
        MMENGINE_MODELS.build(_distill_model(teacher_checkpoints['slak'], teacher=deploy_teacher))
    missing = str(tmp_path / 'absent.pth')
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        MMENGINE_MODELS.build(_distill_model(missing))
    with pytest.raises(TypeError, match='teacher_checkpoint must be the path'):
        MMENGINE_MODELS.build(_distill_model(None))
    with pytest.raises(FileNotFoundError, match='teacher config configs/slak/nope.py not found'):
        MMENGINE_MODELS.build(_distill_model(teacher_checkpoints['slak'], teacher='configs/slak/nope.py'))
    five_classes = copy.deepcopy(STUDENT)
    five_classes['head']['num_classes'] = 5
    with pytest.raises(ValueError, match=r'predicts 10 classes, the student 5'):
        MMENGINE_MODELS.build(dict(_distill_model(teacher_checkpoints['slak']), head=five_classes['head']))


def test_teacher_follows_the_student_across_devices_and_dtypes(teacher_checkpoints):
    init_default_scope('mmpretrain')
    model = MMENGINE_MODELS.build(_distill_model(teacher_checkpoints['slak']))
    model.double()
    assert {p.dtype for p in model.teacher.parameters()} == {torch.float64}
    assert 'frozen ImageClassifier(SLaK)' in repr(model)


# --------------------------------------------------------------------------------------------------- configs
KD_CONFIGS = sorted(glob.glob('configs/convnest/nkd_*.py'))


def test_every_published_distilled_convnest_has_a_config():
    """Table 4 lists distilled ConvNeSt-T and -S: one config each, in the metafile with its published top-1."""
    assert [get_model(osp.splitext(osp.basename(p))[0]).arch for p in KD_CONFIGS] == ['S', 'T']


@pytest.mark.parametrize('path', KD_CONFIGS, ids=osp.basename)
def test_kd_config_pairs_the_named_student_and_teacher(path, teacher_checkpoints):
    cfg, name = Config.fromfile(path), osp.splitext(osp.basename(path))[0]
    entry = get_model(name)
    plain = next(e for e in list_models(backbone='ConvNeSt') if e.arch == entry.arch and e.name != name
                 and e.training_data[-1].startswith('ImageNet'))
    assert entry.top1 > plain.top1 and f'{entry.top1}%' in open(path).read()  # the header names the target
    arch = entry.arch.lower()
    assert name.startswith(f'nkd_convnest-{arch}_slak-{arch}-teacher_')
    teacher = Config.fromfile(cfg.model.teacher).model
    assert teacher.backbone.type == 'largekernel.SLaK' and teacher.backbone.arch == entry.arch
    assert teacher.backbone.deploy and cfg.model.teacher_checkpoint.endswith(f'slak-{arch}-deploy_in1k.pth')
    assert cfg.model.distill_loss == dict(type='largekernel.NKDLoss', temperature=1.0, gamma=1.5)
    # Table 11: total batch 2048 (T) / 4096 (S), AdamW lr 4e-3, warm-up 20, stochastic depth 0.1, label smoothing
    # 0.1, Mixup 0.8, CutMix 1.0, no gradient clipping; epochs and EMA are not listed (300, none)
    accum = cfg.optim_wrapper.accumulative_counts
    assert 8 * cfg.train_dataloader.batch_size * accum == {'T': 2048, 'S': 4096}[entry.arch]
    assert cfg.optim_wrapper.optimizer.lr == 4e-3 and 'clip_grad' not in cfg.optim_wrapper
    assert cfg.param_scheduler[0].end == 20 and cfg.train_cfg.max_epochs == 300
    assert cfg.model.backbone.drop_path_rate == 0.1 and cfg.custom_hooks == []
    assert cfg.model.head.loss.label_smooth_val == 0.1
    assert [(a.type, a.alpha) for a in cfg.model.train_cfg.augments] == [('Mixup', 0.8), ('CutMix', 1.0)]
    # the student is the plain config's model: its checkpoints load there
    student = Config.fromfile(plain.config).model
    kd_only = {'type', 'teacher', 'teacher_checkpoint', 'distill_loss'}
    assert {k: v for k, v in cfg.model.items() if k not in kd_only} == dict(
        {k: v for k, v in student.items() if k != 'type'}, backbone=dict(student.backbone, drop_path_rate=0.1))
    # every key of the config's model is accepted (with the tiny student and teacher of the tests)
    init_default_scope('mmpretrain')
    head = dict(cfg.model.head.to_dict(), in_channels=32, num_classes=10)
    small = dict(cfg.model.to_dict(), teacher=copy.deepcopy(TEACHER), teacher_checkpoint=teacher_checkpoints['slak'],
                 backbone=dict(STUDENT['backbone']), head=head)
    assert type(MMENGINE_MODELS.build(small)).__name__ == 'DistillImageClassifier'
