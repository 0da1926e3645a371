"""RepLKNet: published sizes, re-parameterisation, layer decay groups, mmpretrain peer check, configs."""
import json
import re

import pytest
import torch
from torch import nn

from largekernel.models.backbones.base import load_state_dict_checked, randomize_bn_stats
from largekernel.models.backbones.replknet import ReparamLargeKernelConv, RepLKNet
from largekernel.models.converters.replknet import convert_replknet, rename_replknet
from largekernel.utils import count_macs, count_params
from largekernel.utils.model_index import find_model, list_models

SMALL = dict(large_kernel_sizes=(9, 7, 7, 5), layers=(1, 1, 3, 1), channels=(8, 16, 24, 32), small_kernel=3)
SMALL_XL = dict(SMALL, small_kernel=None, dw_ratio=1.5)  # XL-style: no small kernel, inverted bottleneck


class Classifier(nn.Module):
    """The official classification model: backbone (with the head BN as out norm) -> GAP -> Linear."""

    def __init__(self, backbone, num_classes=1000):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(backbone.channels[-1], num_classes)

    def forward(self, x):
        return self.fc(self.backbone(x)[-1].mean((2, 3)))


@pytest.fixture(autouse=True, scope='module')
def single_thread():
    """Small CPU convolutions run many times faster with one thread on the shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def random_model(arch, seed=0, dtype=torch.float64, **kwargs):
    torch.manual_seed(seed)
    model = RepLKNet(arch, **kwargs).to(dtype)
    randomize_bn_stats(model)
    with torch.no_grad():  # non-trivial conv weights at every scale
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.normal_(0, (2.0 / m.weight[0].numel()) ** 0.5)
    return model.eval()


# -- published numbers (configs/replknet/metafile.yml: the official README, mmpretrain's exact parameter counts) -----
PUBLISHED = [e for e in list_models(backbone='RepLKNet') if e.params is not None
             and e.training_data[-1].startswith('ImageNet')]
SIZES = sorted({(e.arch, e.input_size) for e in PUBLISHED})  # find_model checks that configs sharing one agree


@pytest.mark.parametrize('arch,published', sorted({e.arch: e.target('Parameters') for e in PUBLISHED}.items()))
def test_params_match_published(arch, published):
    with torch.device('meta'):
        model = Classifier(RepLKNet(arch))
    assert count_params(model) == pytest.approx(published, rel=3e-3)


@pytest.mark.parametrize('arch,res,published', [(a, r, find_model('RepLKNet', a, r).target('FLOPs')) for a, r in SIZES])
def test_deploy_macs_match_published(arch, res, published):
    with torch.device('meta'):
        model = Classifier(RepLKNet(arch, deploy=True))
    macs = count_macs(model, inputs=torch.zeros(1, 3, res, res, device='meta'))
    assert macs == pytest.approx(published, rel=2e-2)


def test_meta_counting_equals_real_counting():
    """The published-number tests count on the meta device; it must give exactly what a real forward gives."""
    with torch.device('meta'):
        meta = Classifier(RepLKNet(SMALL, deploy=True))
    real = Classifier(RepLKNet(SMALL, deploy=True))
    assert count_params(meta) == count_params(real)
    assert count_macs(meta, inputs=torch.zeros(1, 3, 96, 96, device='meta')) == count_macs(real, (1, 3, 96, 96))


def test_architecture_of_31b():
    with torch.device('meta'):
        model = RepLKNet('31B', drop_path_rate=0.3)
        xl = RepLKNet('XL', deploy=True)
    assert len(model.stages[2]) == 36 and len(model.downsample_layers) == 4
    block = model.stages[0][0]
    assert block.large_kernel.lkb_origin.conv.kernel_size == (31, 31)
    assert block.large_kernel.small_conv.conv.kernel_size == (5, 5)
    assert model.stages[3][0].large_kernel.lkb_origin.conv.kernel_size == (13, 13)
    # a RepLK block and its ConvFFN share one rate, linear over the 24 pairs up to drop_path_rate
    rates = [m.drop_prob for m in model.modules() if hasattr(m, 'drop_prob')]
    assert len(rates) == 2 * 23 and rates[0] == rates[1] and rates[-1] == pytest.approx(0.3)
    assert isinstance(model.norm3, nn.BatchNorm2d)
    assert xl.stages[0][0].large_kernel.lkb_reparam.weight.shape == (384, 1, 27, 27)


def test_forward_outputs():
    model = RepLKNet(SMALL, out_indices=(0, 1, 2, 3), out_norms=False).eval()
    outs = model(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 24, 4, 4), (2, 32, 2, 2)]
    assert not any(n.startswith('norm') for n, _ in model.named_children())


# -- re-parameterisation ------------------------------------------------------------------------------------------
@pytest.mark.parametrize('arch', [SMALL, SMALL_XL])
def test_deploy_equivalence(arch):
    model = random_model(arch, out_indices=(0, 1, 2, 3))
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        before = model(x)
        model.switch_to_deploy()
        after = model(x)
        model.switch_to_deploy()  # idempotent
        again = model(x)
    for a, b, c in zip(before, after, again):
        assert rel_err(b, a) <= 1e-10 and torch.equal(b, c)
    assert not any(isinstance(m, nn.BatchNorm2d) for n, m in model.named_modules()
                   if not re.search(r'(prelkb_bn|preffn_bn|^norm\d)$', n))
    deployed = RepLKNet(arch, deploy=True, out_indices=(0, 1, 2, 3))
    assert {k: v.shape for k, v in deployed.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}


def test_large_kernel_merge_alone():
    torch.manual_seed(0)
    conv = ReparamLargeKernelConv(6, 11, 5).double()
    randomize_bn_stats(conv)
    conv.eval()
    x = torch.randn(2, 6, 20, 20, dtype=torch.float64)
    with torch.no_grad():
        ref = conv(x)
        conv.reparameterize()
        assert set(dict(conv.named_children())) == {'lkb_reparam'}
        assert rel_err(conv(x), ref) <= 1e-10


@pytest.mark.slow
def test_deploy_equivalence_31b():
    model = random_model('31B')
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        before = model(x)[0]
        after = model.switch_to_deploy()(x)[0]
    assert rel_err(after, before) <= 1e-10


def test_with_cp_and_frozen_stages():
    torch.manual_seed(0)
    a = RepLKNet(SMALL, drop_path_rate=0.0)
    b = RepLKNet(SMALL, drop_path_rate=0.0, with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    ga = torch.autograd.grad(a(x)[0].sum(), x)[0]
    gb = torch.autograd.grad(b(x)[0].sum(), x)[0]
    assert torch.allclose(ga, gb, atol=1e-5)
    frozen = RepLKNet(SMALL, frozen_stages=2).train()
    assert not any(p.requires_grad for p in frozen.downsample_layers[1].parameters())
    assert not frozen.stages[1][0].prelkb_bn.training and frozen.stages[2][0].prelkb_bn.training
    assert all(p.requires_grad for p in frozen.downsample_layers[2].parameters())


# -- layer-wise LR decay groups (official get_num_layer_for_replknet) ----------------------------------------------
def official_group(name):
    """The official 14-group rule (get_num_layer_for_replknet) on official parameter names."""
    parts = name.split('.')
    if parts[0] == 'stem':
        return 0
    if parts[0] == 'transitions':
        return {0: 1, 1: 2, 2: 11}[int(parts[1])]
    if parts[0] == 'stages':
        stage, block = int(parts[1]), int(parts[3])
        return {0: 1, 1: 2, 3: 12}.get(stage, 3 + block // 4)
    return 13


def classifier_state(model, num_classes=10):
    torch.manual_seed(1)
    head = nn.Linear(model.channels[-1], num_classes).to(next(model.parameters()).dtype)
    state = {'backbone.' + k: v for k, v in model.state_dict().items()}
    state.update({'head.fc.' + k: v for k, v in head.state_dict().items()})
    return state


def test_layer_id_matches_official_groups():
    with open('tests/data/official_manifests/replknet-31B.json') as f:  # the official parameter names
        official = {k: torch.empty(0) for k in json.load(f)['keys']}
    with torch.device('meta'):
        model = Classifier(RepLKNet('31B'))
    renamed = rename_replknet(official, 'official')  # one new name per key, in the same order
    groups = set()
    for official_name, ours in zip(official, renamed):
        gid = model.backbone.layer_id(ours[len('backbone.'):], 12) if ours.startswith('backbone.') else 13
        assert gid == official_group(official_name), official_name
        groups.add(gid)
    assert groups == set(range(14))
    # num_layers=4: stage-wise decay (the XL fine-tuning recipe)
    lid = model.backbone.layer_id
    assert [lid(n, 4) for n in ('downsample_layers.0.0.conv.weight', 'stages.0.1.pw1.conv.weight',
                                'downsample_layers.2.0.conv.weight', 'stages.2.35.pw2.bn.weight',
                                'downsample_layers.3.1.bn.bias', 'stages.3.0.prelkb_bn.weight', 'norm3.weight')] == \
        [0, 1, 2, 3, 3, 4, 5]


def test_layer_decay_constructor_groups():
    """The shared optimizer constructor turns RepLKNet.layer_id into the official 14 lr scales (decay 0.7)."""
    from mmengine.optim import build_optim_wrapper
    import largekernel.engine  # noqa: F401  (registers the constructor)
    model = nn.Module()
    with torch.device('meta'):
        model.backbone = RepLKNet('31B')
        model.head = nn.Linear(1024, 1000)
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
        constructor='largekernel.LayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=0.7, num_layers=12)))
    lr_of = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    assert len(set(lr_of.values())) == 14
    assert lr_of[id(model.backbone.downsample_layers[0][0].conv.weight)] == pytest.approx(0.7 ** 13)
    assert lr_of[id(model.backbone.stages[2][35].pw1.conv.weight)] == pytest.approx(0.7 ** 2)
    assert lr_of[id(model.backbone.downsample_layers[3][0].conv.weight)] == pytest.approx(0.7 ** 2)
    assert lr_of[id(model.backbone.stages[3][0].pw1.conv.weight)] == pytest.approx(0.7)
    assert lr_of[id(model.backbone.norm3.weight)] == lr_of[id(model.head.weight)] == 1.0


# -- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('arch,match', [
    (dict(SMALL, large_kernel_sizes=(9, 8, 7, 5)), 'large kernel size 8'),
    (dict(SMALL, small_kernel=11), 'small kernel 11 is larger than the large kernel 9'),
    (dict(SMALL, small_kernel=4), 'small kernel size 4'),
    (dict(SMALL, large_kernel_sizes=(9, 7, 7)), 'one entry per stage'),
])
def test_bad_kernel_sizes(arch, match):
    with pytest.raises(ValueError, match=match):
        RepLKNet(arch)


def test_bad_arch_and_head():
    with pytest.raises(KeyError, match="unknown arch '31X'"):
        RepLKNet('31X')
    with pytest.raises(KeyError, match='missing keys'):
        RepLKNet(dict(layers=(1,), channels=(8,), large_kernel_sizes=(5,)))
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        RepLKNet(SMALL, gap_before_final_norm=True)
    with torch.device('meta'):
        assert RepLKNet('31b').channels == (128, 256, 512, 1024)  # names are case-insensitive


def test_checkpoint_of_another_arch_is_refused(tmp_path):
    converted = classifier_state(RepLKNet(SMALL))
    path = tmp_path / 'small.pth'
    torch.save({'state_dict': converted}, path)
    other = RepLKNet(dict(SMALL, channels=(8, 16, 32, 32)),
                     init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    expected = r"shape mismatches \(\d+\): \['downsample_layers.2.0.conv.weight: checkpoint \(24, 16, 1, 1\) vs model"
    with pytest.raises(RuntimeError, match=expected):
        other.init_weights()
    deployed = RepLKNet(SMALL, deploy=True, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                                          prefix='backbone.'))
    with pytest.raises(RuntimeError, match='deploy'):
        deployed.init_weights()
    same = RepLKNet(SMALL, init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    same.init_weights()
    assert torch.equal(same.norm3.running_var, converted['backbone.norm3.running_var'])


# -- peer check against mmpretrain's own RepLKNet ------------------------------------------------------------------
def _mmpretrain_model(arch):
    pytest.importorskip('mmcv')
    mmpretrain_backbones = pytest.importorskip('mmpretrain.models.backbones')
    torch.manual_seed(0)
    model = mmpretrain_backbones.RepLKNet(arch, drop_path_rate=0.1).double()
    randomize_bn_stats(model)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.normal_(0, (2.0 / m.weight[0].numel()) ** 0.5)
    model.eval()  # mmpretrain's RepLKNet.train() returns None
    return model


def _check_against_mmpretrain(arch, ours_arch, res):
    peer = _mmpretrain_model(arch)
    x = torch.randn(2, 3, res, res, dtype=torch.float64)
    with torch.no_grad():
        ref = peer(x)[0]
    state = {'backbone.' + k: v for k, v in peer.state_dict().items()}
    state.update({'head.fc.weight': torch.zeros(5, peer.arch['channels'][-1], dtype=torch.float64),
                  'head.fc.bias': torch.zeros(5, dtype=torch.float64)})
    ours = RepLKNet(ours_arch).double().eval()
    load_state_dict_checked(ours, {k[9:]: v for k, v in convert_replknet(state).items() if k[:9] == 'backbone.'})
    with torch.no_grad():
        assert rel_err(ours(x)[0], ref) <= 1e-12
    peer.switch_to_deploy()
    deploy_state = {'backbone.' + k: v for k, v in peer.state_dict().items()}
    ours = RepLKNet(ours_arch, deploy=True).double().eval()
    load_state_dict_checked(ours, {k[9:]: v for k, v in convert_replknet(deploy_state).items()
                                   if k[:9] == 'backbone.'})
    with torch.no_grad():
        assert rel_err(peer(x)[0], ref) <= 1e-10
        assert rel_err(ours(x)[0], ref) <= 1e-10


@pytest.mark.parametrize('arch', [SMALL, SMALL_XL])
def test_matches_mmpretrain_replknet(arch):
    _check_against_mmpretrain(dict(arch, dw_ratio=arch.get('dw_ratio', 1)), arch, 64)


@pytest.mark.slow
def test_matches_mmpretrain_replknet_31b():
    _check_against_mmpretrain('31B', '31B', 96)


# -- configs ------------------------------------------------------------------------------------------------------
# the downstream configs (upernet_*, ...): tests/test_downstream_*.py
CONFIGS = sorted(str(p) for p in __import__('pathlib').Path('configs/replknet').rglob('replknet-*.py'))


def test_configs_exist():
    names = {p.rsplit('/', 1)[-1] for p in CONFIGS}
    for name in ('replknet-31B_8xb64-accum4_in1k.py', 'replknet-31B_8xb64-accum4-120e_in1k.py', 'replknet-31B_8xb32-accum4_in1k-384px.py',
                 'replknet-31B_8xb32-accum16_in21k.py', 'replknet-31L_8xb32-accum16_in21k.py',
                 'replknet-31B_in21k-pre_8xb64_in1k.py', 'replknet-31B_in21k-pre_8xb16-accum4_in1k-384px.py',
                 'replknet-31L_in21k-pre_8xb16-accum4_in1k-384px.py', 'replknet-XL_meg73m-pre_8xb64-accum4_in1k-320px.py',
                 'replknet-31B-deploy_8xb64-accum4_in1k.py', 'replknet-XL-deploy_meg73m-pre_8xb64-accum4_in1k-320px.py'):
        assert name in names


@pytest.mark.parametrize('path', CONFIGS)
def test_config_loads_and_builds(path):
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    backbone = cfg.model.backbone
    assert backbone.type == 'largekernel.RepLKNet' and cfg.model.neck.type == 'GlobalAveragePooling'
    assert cfg.model.head.in_channels == RepLKNet.arch_zoo[backbone.arch]['channels'][-1]
    assert backbone.get('deploy', False) == ('/deploy/' in path)
    pytest.importorskip('mmcv')
    pytest.importorskip('mmpretrain')
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmpretrain')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
        assert isinstance(model.backbone, RepLKNet) and model.backbone.deploy == backbone.get('deploy', False)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        if cfg.optim_wrapper.get('constructor') == 'largekernel.LayerDecayOptimWrapperConstructor':
            scales = {round(g['lr'] / cfg.optim_wrapper.optimizer.lr, 12) for g in wrapper.optimizer.param_groups}
            num_layers = cfg.optim_wrapper.paramwise_cfg.num_layers
            rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
            assert scales == {round(rate ** (num_layers + 1 - i), 12) for i in range(num_layers + 2)}


def test_classifier_train_step_small():
    """The config's classifier (BN head norm -> GAP neck -> Linear, Mixup/CutMix) trains on a small arch."""
    pytest.importorskip('mmcv')
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from mmpretrain.structures import DataSample
    init_default_scope('mmpretrain')
    cfg = Config.fromfile('configs/replknet/replknet-31B_8xb64-accum4_in1k.py')
    cfg.model.backbone.arch = SMALL
    cfg.model.head.in_channels = 32
    cfg.model.data_preprocessor = dict(type='ClsDataPreprocessor', num_classes=1000)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in range(4)],
                data_samples=[DataSample().set_gt_label(i) for i in range(4)])
    data = model.data_preprocessor(data, training=True)
    losses = model(**data, mode='loss')
    losses['loss'].backward()
    assert torch.isfinite(losses['loss']) and model.backbone.downsample_layers[0][0].conv.weight.grad is not None
    model.eval()
    with torch.no_grad():
        probs = torch.stack([s.pred_score for s in model(**model.data_preprocessor(data, False), mode='predict')])
        model.backbone.switch_to_deploy()
        deployed = torch.stack([s.pred_score for s in model(**model.data_preprocessor(data, False), mode='predict')])
    assert torch.allclose(probs, deployed, atol=1e-5)
