"""Training-recipe mechanics shared by every family: the EMA per optimizer step (StepEMAHook and every config's
effective decay against the published one) and layer-wise lr decay with each family's group mapping."""
import copy
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.hooks import Hook
from torch import nn

from largekernel.engine import StepEMAHook
from largekernel.utils.model_index import REPO_ROOT, load_model_index

torch.set_num_threads(1)


# ---------------------------------------------------------------------------------------------------------------
# StepEMAHook under a real Runner
# ---------------------------------------------------------------------------------------------------------------
class StepRecorder(Hook):
    """Keeps the weights at the start of training and after every optimizer step."""
    priority = 'LOWEST'

    def __init__(self):
        self.snapshots = []

    def before_train(self, runner):
        model = runner.model
        self.snapshots = [copy.deepcopy(model.state_dict())]
        runner.optim_wrapper.optimizer.register_step_post_hook(
            lambda *args: self.snapshots.append(copy.deepcopy(model.state_dict())))


def _runner(work_dir, max_iters, ema_type='largekernel.StepEMAHook', accum=4, resume=False, load_from=None,
            extra_hooks=()):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Net(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU())
            self.head = nn.Linear(8, 3)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            logits = self.head(self.backbone(inputs))
            return dict(loss=F.cross_entropy(logits, data_samples)) if mode == 'loss' else logits

    class Data(torch.utils.data.Dataset):
        def __init__(self):
            g = torch.Generator().manual_seed(0)
            self.x, self.y = torch.randn(64, 6, generator=g), torch.randint(0, 3, (64,), generator=g)

        def __len__(self):
            return 64

        def __getitem__(self, i):
            return dict(inputs=self.x[i], data_samples=self.y[i])

    recorder = StepRecorder()
    torch.manual_seed(0)
    runner = Runner(
        model=Net(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=Data(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=4,
                              num_workers=0, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9), accumulative_counts=accum),
        custom_hooks=[dict(type=ema_type, momentum=0.1, update_buffers=True), recorder, *extra_hooks],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=8, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=100)),
        randomness=dict(seed=0), resume=resume, load_from=load_from, log_level='WARNING')
    return runner, recorder


def _ema_state(runner):
    hook = next(h for h in runner.hooks if hasattr(h, 'ema_model'))
    return hook.ema_model


def _reference(snapshots, momentum):
    """timm's ModelEma by hand: E_0 = W_0, E_k = (1 - m) E_{k-1} + m W_k for every optimizer step k (floating
    point entries: weights and BN statistics)."""
    ema = {k: v.clone() for k, v in snapshots[0].items() if v.dtype.is_floating_point}
    for weights in snapshots[1:]:
        for k in ema:
            ema[k] = (1 - momentum) * ema[k] + momentum * weights[k]
    return ema


def test_step_ema_updates_once_per_optimizer_step(tmp_path):
    runner, recorder = _runner(tmp_path / 'step', max_iters=14)
    runner.train()
    # 14 iterations, 4 accumulated: steps at iterations 4, 8, 12 and the last (14, mmengine's remainder step)
    assert len(recorder.snapshots) == 1 + 4
    ema = _ema_state(runner)
    assert int(ema.steps) == 1 + 4
    expected = _reference(recorder.snapshots, 0.1)
    got = ema.module.state_dict()
    for k, v in expected.items():
        torch.testing.assert_close(got[k], v, rtol=0, atol=1e-6, msg=k)

    # mmengine's EMAHook averages every iteration instead: the same run gives another average
    plain, plain_recorder = _runner(tmp_path / 'plain', max_iters=14, ema_type='EMAHook')
    plain.train()
    assert int(_ema_state(plain).steps) == 14
    weight = 'backbone.0.weight'
    assert not torch.allclose(_ema_state(plain).module.state_dict()[weight], expected[weight], atol=1e-4)


def test_step_ema_resume_reproduces_the_ema(tmp_path):
    full, _ = _runner(tmp_path / 'full', max_iters=16)
    full.train()
    resumed, _ = _runner(tmp_path / 'resumed', max_iters=16, resume=True,
                         load_from=str(tmp_path / 'full' / 'iter_8.pth'))
    resumed.train()
    a, b = _ema_state(full), _ema_state(resumed)
    assert int(a.steps) == int(b.steps) == 1 + 4
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, rtol=0, atol=1e-7, msg=k)


def test_step_ema_hook_is_registered():
    from mmengine.registry import HOOKS
    hook = HOOKS.build(dict(type='largekernel.StepEMAHook', momentum=1e-4))
    assert isinstance(hook, StepEMAHook) and hook.ema_cfg['momentum'] == 1e-4


# ---------------------------------------------------------------------------------------------------------------
# Every config's effective EMA decay per optimizer step equals the published one (metafile ``EMA Decay``)
# ---------------------------------------------------------------------------------------------------------------
ENTRIES = {e.config: e for e in load_model_index().values() if e.config}
STEP_EMA = {'largekernel.StepEMAHook'}
ITER_EMA = {'EMAHook'}
EMA_TYPES = {'ExponentialMovingAverage', 'ExpMomentumEMA'}   # ExpMomentumEMA: momentum -> its final value


def _listed_configs():
    paths = []
    for path in sorted(glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*.py'))
                       + glob.glob(osp.join(REPO_ROOT, 'configs', '*', 'deploy', '*.py'))):
        rel = osp.relpath(path, REPO_ROOT)
        source = rel.replace('/deploy/', '/').replace('-deploy', '', 1)
        if source in ENTRIES:
            paths.append((rel, source))
    return paths


def effective_ema_decay(cfg):
    """Decay of the weight EMA per optimizer step in a merged config, or None without an EMA hook."""
    hooks = [h for h in cfg.get('custom_hooks', []) if 'EMA' in h['type']]
    if not hooks:
        return None
    assert len(hooks) == 1, hooks
    hook = hooks[0]
    assert hook['type'] in STEP_EMA | ITER_EMA, f'unknown EMA hook {hook["type"]!r}'
    assert hook.get('ema_type', 'ExponentialMovingAverage') in EMA_TYPES, hook
    momentum, interval = hook['momentum'], hook.get('interval', 1)
    accum = cfg.optim_wrapper.get('accumulative_counts', 1)
    updates_per_step = 1 / interval if hook['type'] in STEP_EMA else accum / interval
    return (1 - momentum) ** updates_per_step


@pytest.mark.parametrize('rel,source', _listed_configs(), ids=lambda v: v if isinstance(v, str) else None)
def test_effective_ema_decay_is_the_published_one(rel, source):
    cfg = Config.fromfile(osp.join(REPO_ROOT, rel))
    published = ENTRIES[source].ema_decay
    decay = effective_ema_decay(cfg)
    if published is None:
        assert decay is None, f'{rel}: EMA hook but {source} publishes no EMA'
    else:
        assert decay is not None, f'{rel}: no EMA hook, the recipe has EMA {published}'
        assert decay == pytest.approx(published, abs=1e-7), f'{rel}: {decay:.6f} per optimizer step'


def test_effective_ema_decay_sees_accumulation():
    cfg = Config(dict(custom_hooks=[dict(type='EMAHook', momentum=1e-4)],
                      optim_wrapper=dict(accumulative_counts=4)))
    assert effective_ema_decay(cfg) == pytest.approx(0.9996, abs=1e-6)
    cfg.custom_hooks[0]['type'] = 'largekernel.StepEMAHook'
    assert effective_ema_decay(cfg) == pytest.approx(0.9999, abs=1e-9)


# ---------------------------------------------------------------------------------------------------------------
# Layer-wise lr decay: each family's official group mapping, and num_layers too small raises
# ---------------------------------------------------------------------------------------------------------------
def _scales(backbone, decay, num_layers, decay_type='layer_wise'):
    from mmengine.optim import build_optim_wrapper
    model = nn.Module()
    model.backbone = backbone
    model.neck = nn.Linear(4, 4)
    paramwise = dict(layer_decay_rate=decay, num_layers=num_layers, decay_type=decay_type)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
                                              constructor='largekernel.LayerDecayOptimWrapperConstructor',
                                              paramwise_cfg=paramwise))
    group_of = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    names = dict(model.named_parameters())
    return lambda name: group_of[id(names[name])]


def _first(backbone, prefix):
    return next(n for n, _ in backbone.named_parameters(prefix='backbone') if n.startswith(prefix))


def _backbone(cls, arch):
    from largekernel import models
    with torch.device('meta'):
        return getattr(models, cls)(arch=arch)


def test_slak_recipes_layer_and_stage_wise():
    """SLaK downstream: Cascade Mask R-CNN layer-wise 0.7 over 6 layers, UPerNet stage-wise 0.9 over 6 layers."""
    slak = _backbone('SLaK', 'T')                    # stage 2: 9 blocks -> ids 3, 4, 5
    lr = _scales(slak, 0.7, 6)
    assert lr(_first(slak, 'backbone.downsample_layers.0')) == pytest.approx(0.7 ** 7)
    assert lr(_first(slak, 'backbone.stages.2.8.')) == pytest.approx(0.7 ** 2)
    assert lr(_first(slak, 'backbone.stages.3.')) == pytest.approx(0.7)
    assert lr('neck.weight') == 1.0
    lr = _scales(slak, 0.9, 6, 'stage_wise')
    assert lr(_first(slak, 'backbone.downsample_layers.3')) == pytest.approx(0.9 ** 7)
    assert lr(_first(slak, 'backbone.stages.0.')) == pytest.approx(0.9 ** 6)
    assert lr(_first(slak, 'backbone.stages.3.')) == pytest.approx(0.9 ** 3)
    assert lr('backbone.norm3.weight') == lr('neck.weight') == 1.0
    with pytest.raises(ValueError, match='num_layers=3 .*num_layers >= 4'):
        _scales(slak, 0.9, 3, 'stage_wise')
    # SLaK-S has 27 stage-2 blocks: 6 layers would lift stage 2 above the base lr
    with pytest.raises(ValueError, match='num_layers=6 .*num_layers >= 12'):
        _scales(_backbone('SLaK', 'S'), 0.7, 6)


def test_shiftwise_and_uniconvnet_use_the_convnext_mapping():
    sw = _backbone('ShiftWise', 'tiny')              # 18 stage-2 blocks: COCO / FCOS3D 0.8 over 12, ADE 1.0 over 9
    lr = _scales(sw, 0.8, 12)
    assert lr(_first(sw, 'backbone.stages.2.17.')) == pytest.approx(0.8 ** 5)
    assert lr(_first(sw, 'backbone.downsample_layers.3')) == pytest.approx(0.8)
    assert _scales(sw, 1.0, 9)(_first(sw, 'backbone.stages.0.')) == 1.0
    with pytest.raises(ValueError, match='num_layers=8 .*num_layers >= 9'):
        _scales(sw, 0.8, 8)
    uni = _backbone('UniConvNet', 'T')               # ImageNet 384 fine-tune: 0.7 over 12
    lr = _scales(uni, 0.7, 12)
    assert lr(_first(uni, 'backbone.stages.1.')) == pytest.approx(0.7 ** 11)
    assert lr(_first(uni, 'backbone.stages.2.14.')) == pytest.approx(0.7 ** 6)


def test_replknet_uses_its_own_14_groups():
    rep = _backbone('RepLKNet', '31B')               # 36 stage-2 entries -> ids 3 .. 11
    lr = _scales(rep, 0.7, 12)
    assert lr(_first(rep, 'backbone.stages.2.0.')) == pytest.approx(0.7 ** 10)
    assert lr(_first(rep, 'backbone.stages.2.35.')) == pytest.approx(0.7 ** 2)
    assert lr(_first(rep, 'backbone.downsample_layers.3')) == pytest.approx(0.7 ** 2)
    assert lr(_first(rep, 'backbone.stages.3.')) == pytest.approx(0.7)
    lr = _scales(rep, 0.7, 4)                        # stage-wise: stage i -> i + 1
    assert lr(_first(rep, 'backbone.stages.2.35.')) == pytest.approx(0.7 ** 2)
    with pytest.raises(ValueError, match='num_layers=3 .*num_layers >= 4'):
        _scales(rep, 0.7, 3)


@pytest.mark.parametrize('cls,arch,num_layers', [('UniRepLKNet', 'S', 12), ('SLaK', 'B', 12), ('ShiftWise', 'small', 12),
                                                 ('UniConvNet', 'L', 12), ('ConvNeSt', 'B', 13),
                                                 ('RepLKNet', '31L', 12), ('ConvNeStIsotropic', 'S', None)])
def test_no_group_above_the_base_lr(cls, arch, num_layers):
    backbone = _backbone(cls, arch)
    num_layers = num_layers or backbone.depth
    lr = _scales(backbone, 0.8, num_layers)
    scales = {lr(n) for n, _ in backbone.named_parameters(prefix='backbone')}
    assert max(scales) <= 1.0 and min(scales) == pytest.approx(0.8 ** (num_layers + 1))


def test_bad_layer_decay_settings():
    slak = _backbone('SLaK', 'T')
    with pytest.raises(ValueError, match="decay_type='block'"):
        _scales(slak, 0.8, 12, 'block')
    with pytest.raises(ValueError, match='num_layers=0'):
        _scales(slak, 0.8, 0)
    with pytest.raises(ValueError, match='num_layers=12 .*num_layers >= 13'):   # ConvNeSt-B: 28 stage-2 blocks
        _scales(_backbone('ConvNeSt', 'B'), 0.8, 12)
    with pytest.raises(ValueError, match='must equal depth'):
        _scales(_backbone('ConvNeStIsotropic', 'S'), 0.8, 12)


# ---------------------------------------------------------------------------------------------------------------
# Bad input stops with a message naming the value
# ---------------------------------------------------------------------------------------------------------------
def _tiny(cls, **kwargs):
    from largekernel import models
    arch = dict(depths=(1, 1, 1, 1), dims=(8, 16, 32, 64))
    extra = dict(kernel_sizes=(7, 7, 7, 7), small_kernel=3) if cls == 'SLaK' else {}
    if cls == 'UniRepLKNet':
        arch['kernel_sizes'] = ((3,), (13,), (13,), (13,))
    return getattr(models, cls)(arch=arch, **extra, **kwargs)


class _Detector(nn.Module):
    def __init__(self, backbone, neck=None, **heads):
        super().__init__()
        self.backbone, self.neck = backbone, neck
        for name, head in heads.items():
            setattr(self, name, head)


class _Takes(nn.Module):
    """Stands for a neck / head: only the attributes the check reads."""

    def __init__(self, in_channels, in_index=None):
        super().__init__()
        self.in_channels = in_channels
        if in_index is not None:
            self.in_index = in_index


def test_neck_channels_must_match_the_backbone_outputs():
    from largekernel.engine.checks import check_neck_channels
    backbone = _tiny('UniRepLKNet', out_indices=(1, 2, 3))
    check_neck_channels(_Detector(backbone, _Takes([16, 32, 64])))
    with pytest.raises(ValueError, match=r'out_indices=\(1, 2, 3\) outputs channels \[16, 32, 64\].*'
                                         r'in_channels=\[8, 16, 32, 64\].*neck.in_channels=\[16, 32, 64\]'):
        check_neck_channels(_Detector(backbone, _Takes([8, 16, 32, 64])))
    # mmseg: no neck, decode / auxiliary heads select outputs by in_index
    check_neck_channels(_Detector(backbone, decode_head=_Takes([16, 32, 64], [0, 1, 2]),
                                  auxiliary_head=_Takes(32, 1)))
    with pytest.raises(ValueError, match=r'auxiliary_head .*in_channels=64 for in_index=1; '
                                         r'set auxiliary_head.in_channels=32'):
        check_neck_channels(_Detector(backbone, decode_head=_Takes([16, 32, 64], [0, 1, 2]),
                                      auxiliary_head=_Takes(64, 1)))
    with pytest.raises(ValueError, match=r'in_index=\[0, 1, 2, 3\] selects output 3'):
        check_neck_channels(_Detector(backbone, decode_head=_Takes([16, 32, 64, 64], [0, 1, 2, 3])))
    # a classifier: the head takes the last output
    with pytest.raises(ValueError, match='head.in_channels=64'):
        check_neck_channels(_Detector(backbone, head=_Takes(768)))


def test_runner_stops_on_a_neck_mismatch_before_running(tmp_path):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = _tiny('UniRepLKNet', out_indices=(0, 1, 2, 3))
            self.neck = _Takes([8, 16, 32, 32])

        def forward(self, inputs, data_samples=None, mode='tensor'):
            raise AssertionError('the check runs before any forward')

    runner = Runner(model=Model(), work_dir=str(tmp_path), test_dataloader=dict(
        dataset=[dict(inputs=torch.zeros(3, 32, 32))], sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=1, collate_fn=dict(type='default_collate')), test_cfg=dict(),
        test_evaluator=dict(type='DumpResults', out_file_path=str(tmp_path / 'out.pkl')), log_level='WARNING')
    with pytest.raises(ValueError, match=r'neck.in_channels=\[8, 16, 32, 64\]'):
        runner.test()


def test_pretrained_checkpoint_of_another_family_or_form_is_named(tmp_path):
    torch.save(dict(state_dict=_tiny('SLaK').state_dict()), tmp_path / 'slak.pth')
    model = _tiny('UniRepLKNet', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'slak.pth')))
    with pytest.raises(RuntimeError, match=r'slak.pth does not match this UniRepLKNet.*missing keys'):
        model.init_weights()
    deployed = _tiny('UniRepLKNet').switch_to_deploy()
    torch.save(dict(state_dict=deployed.state_dict()), tmp_path / 'deploy.pth')
    model = _tiny('UniRepLKNet', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'deploy.pth')))
    with pytest.raises(RuntimeError, match='training form: a checkpoint of the other form needs deploy='):
        model.init_weights()


def test_sparse_weights_in_a_dense_config_stop_training(tmp_path):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Classifier(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = _tiny('SLaK')
            self.head = nn.Linear(self.backbone.channels[-1], 3)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            logits = self.head(self.backbone(inputs)[-1].mean((2, 3)))
            return dict(loss=F.cross_entropy(logits, data_samples)) if mode == 'loss' else logits

    def runner(name, hooks=()):
        return Runner(
            model=Classifier(), work_dir=str(tmp_path / name), load_from=str(tmp_path / 'sparse.pth'),
            train_dataloader=dict(dataset=[dict(inputs=torch.randn(3, 32, 32), data_samples=1)] * 2,
                                  sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2,
                                  collate_fn=dict(type='default_collate')),
            train_cfg=dict(by_epoch=False, max_iters=1), optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            custom_hooks=list(hooks), default_hooks=dict(checkpoint=None), log_level='WARNING')

    state = Classifier().state_dict()
    name = 'backbone.stages.0.0.pwconv1.weight'
    state[name] = state[name] * (torch.arange(state[name].numel()).view_as(state[name]) % 2)
    torch.save(dict(state_dict=state), tmp_path / 'sparse.pth')
    with pytest.raises(ValueError, match=rf'SLaK weights are sparse .*{name}: 50% zeros.*KeepSparsityHook'):
        runner('dense').train()
    runner('kept', [dict(type='largekernel.KeepSparsityHook')]).train()
    runner('dense_on_purpose', [dict(type='largekernel.KeepSparsityHook', dense_finetune=True)]).train()
