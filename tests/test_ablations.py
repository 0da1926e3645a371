"""The papers' ablations as backbone switches and configs (configs/<family>/ablations/): every switch builds, trains
one step and re-parameterises with unchanged outputs; every ablation config is listed in its family's metafile
(``Ablations``), builds on the meta device and, where the table prints them, has the published parameters and
FLOPs; the official SW-v1 and SLaK ``Decom=False`` layouts convert."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from torch import nn

from largekernel.models.backbones import ConvNeSt, ShiftWise, SLaK, UniRepLKNet
from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.models.backbones.shiftwise import ShiftWiseV1
from largekernel.models.converters import shiftwise as sw_converter
from largekernel.models.converters import slak as slak_converter
from largekernel.models.converters.core import CheckpointMismatchError
from largekernel.registry import MODELS
from largekernel.utils import count_macs, count_params
from largekernel.utils.sparsity import sparse_param_count

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FAMILIES = ('unireplknet', 'convnest', 'shiftwise', 'slak')
MANIFESTS = osp.join(ROOT, 'tests', 'data', 'official_manifests')


def _ablations():
    rows = []
    for family in FAMILIES:
        with open(osp.join(ROOT, 'configs', family, 'metafile.yml')) as f:
            rows += [r for r in yaml.safe_load(f).get('Ablations') or []  # the modalities' rows: their own tests
                     if osp.dirname(r['Config']) == f'configs/{family}/ablations']
    return rows


ABLATIONS = _ablations()
WITH_COUNTS = [r for r in ABLATIONS if 'Parameters' in r]


# -- the configs and their published numbers -------------------------------------------------------------------------
def test_every_ablation_config_is_listed_once_under_its_name():
    configs = sorted(osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs', '*', 'ablations', '*.py')))
    listed = [r['Config'] for r in ABLATIONS]
    assert sorted(listed) == configs and len(set(listed)) == len(listed)
    for r in ABLATIONS:
        assert osp.splitext(osp.basename(r['Config']))[0] == r['Name']
        assert r['Epochs'] in (100, 120, 300) and 70 < r['Top 1 Accuracy'] < 90 and r['Table']


def _backbone_and_head(path, **overrides):
    cfg = Config.fromfile(osp.join(ROOT, path))
    backbone_cfg = dict(cfg.model.backbone, **overrides)
    with torch.device('meta'):
        backbone = MODELS.build(backbone_cfg)
        head = nn.Linear(cfg.model.head.in_channels, 1000)
    return cfg, backbone, head


@pytest.mark.parametrize('row', ABLATIONS, ids=lambda r: r['Name'])
def test_config_builds_on_meta_with_the_table_schedule(row):
    cfg, backbone, _ = _backbone_and_head(row['Config'])
    assert cfg.train_cfg.max_epochs == row['Epochs']
    assert cfg.model.head.in_channels == backbone.channels[-1]


def _tolerance(published):
    """One unit of the last digit the table prints (32.9M -> 0.1M): the tables round some counts and truncate others
    (UniRepLKNet Table 3: 32.99M is printed 33.0M, 32.96M 32.9M)."""
    unit = 1
    while published % (unit * 10) == 0:
        unit *= 10
    return unit


class _Classifier(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, x):
        return self.head(self.backbone(x)[-1])


@pytest.mark.parametrize('row', WITH_COUNTS, ids=lambda r: r['Name'])
def test_published_parameters_and_flops(row):
    form = row['Params Form']
    _, backbone, head = _backbone_and_head(row['Config'], deploy=form == 'deploy', gap_before_final_norm=True)
    model = _Classifier(backbone, head)
    params = sparse_param_count(model, density=0.6) if form == 'sparse' else count_params(model)
    assert abs(params - row['Parameters']) <= _tolerance(row['Parameters']), params
    if 'FLOPs' in row and form != 'sparse':
        macs = count_macs(model, inputs=torch.zeros(1, 3, 224, 224, device='meta'))
        assert abs(macs - row['FLOPs']) <= _tolerance(row['FLOPs']), macs


# -- every switch: builds, trains a step, re-parameterises exactly -------------------------------------------------------
TINY = dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32))
SWITCHES = {
    'slak-no-decompose': (SLaK, dict(arch=dict(TINY, width_factor=1.0), kernel_sizes=(13, 11, 9, 7), small_kernel=3,
                                     decompose=False)),
    'sw-v1': (ShiftWiseV1, dict(arch=dict(TINY, dims=(10, 12, 16, 20)), kernel_sizes=(13, 11, 9, 7))),
    'sw-v1-se-rep4-e2': (ShiftWiseV1, dict(arch=dict(TINY, dims=(10, 12, 16, 20)), kernel_sizes=(13, 11, 9, 7),
                                           use_se=True, num_branches=4, num_edges=2)),
    'sw-v2-no-se-no-ghost': (ShiftWise, dict(arch=dict(TINY, dims=(10, 12, 16, 20)), kernel_sizes=(13, 11, 9, 7),
                                             use_se=False, ghost_ratio=0.0)),
    **{f'unireplknet-{e}': (UniRepLKNet, dict(arch=dict(TINY, kernel_sizes=((3,), (13,), (13, 0), (7,))),
                                              extra_structure=e))
       for e in ('none', 'bottleneck', 'two_1x1', 'two_dw3x3')},
    **{f'unireplknet-{v}': (UniRepLKNet, dict(arch=dict(TINY, kernel_sizes=((3,), (13,), (9, 0), (7,))),
                                              drb_variant=v))
       for v in ('none', 'same_kernel', 'same_eq_kernel')},
    **{f'convnest-{v}-{"-".join(n)}': (ConvNeSt, dict(arch=TINY, expansion_ratio=3, block_variant=v, norms=n,
                                                      inner_shortcut=False, res_scale_init_value=None))
       for v in ('vanilla', 'pre_act', 'post_norm') for n in (('LN', 'LN'), ('BN', 'BN'), ('LN', 'BN'), ('BN', 'LN'))},
}


def _randomize_layer_scales(model, generator):
    """Layer scales start at 1e-6, which would hide any error in the residual branches."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(('gamma', 'res_scale')) and p.dim() == 1:
                p.uniform_(0.5, 1.5, generator=generator)


@pytest.mark.parametrize('name', sorted(SWITCHES))
def test_switch_trains_a_step_and_reparameterises_exactly(name):
    cls, kwargs = SWITCHES[name]
    torch.manual_seed(0)
    model = cls(**kwargs, gap_before_final_norm=True)
    head = nn.Linear(model.channels[-1], 5)
    optimizer = torch.optim.SGD([*model.parameters(), *head.parameters()], lr=0.1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss = nn.functional.cross_entropy(head(model(torch.randn(2, 3, 64, 64))[-1]), torch.tensor([1, 3]))
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    changed = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert len(changed) > len(before) // 3, changed

    gen = torch.Generator().manual_seed(1)
    model = model.double()
    randomize_bn_stats(model, gen)
    _randomize_layer_scales(model, gen)
    model.eval()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        expected = model(x)[-1]
        model.switch_to_deploy()
        torch.testing.assert_close(model(x)[-1], expected, rtol=1e-10, atol=1e-10)
    with torch.device('meta'):  # the deploy form built directly has the merged model's keys and shapes
        direct = cls(**kwargs, gap_before_final_norm=True, deploy=True)
    assert {k: v.shape for k, v in direct.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_bad_switch_values_are_named():
    with pytest.raises(ValueError, match="drb_variant 'wide'"):
        UniRepLKNet(arch=dict(TINY, kernel_sizes=((3,), (13,), (13, 3), (7,))), drb_variant='wide')
    with pytest.raises(ValueError, match="extra_structure 'eca'"):
        UniRepLKNet(arch=dict(TINY, kernel_sizes=((3,), (13,), (13, 3), (7,))), extra_structure='eca')
    with pytest.raises(ValueError, match="block_variant 'post'"):
        ConvNeSt(arch=TINY, block_variant='post')
    with pytest.raises(ValueError, match='inner_shortcut=True needs'):
        ConvNeSt(arch=TINY, block_variant='vanilla')
    with pytest.raises(ValueError, match="norms must be two of"):
        ConvNeSt(arch=TINY, norms=('GN', 'LN'))
    with pytest.raises(ValueError, match='norm_eval=True has no effect'):
        ConvNeSt(arch=TINY, norm_eval=True)
    ConvNeSt(arch=TINY, norms=('BN', 'LN'), norm_eval=True)  # with a BatchNorm, norm_eval is meaningful


def test_switch_layouts():
    block = SLaK(arch=dict(TINY, width_factor=1.0), kernel_sizes=(13, 11, 9, 7), small_kernel=3,
                 decompose=False).stages[0][0].large_kernel
    assert block.lkb_origin.conv.kernel_size == (13, 13) and block.small_conv.conv.kernel_size == (3, 3)
    drb = UniRepLKNet(arch=dict(TINY, kernel_sizes=((3,), (13,), (13, 3), (7,))),
                      drb_variant='same_kernel').stages[1][0].dwconv
    assert [n for n, _ in drb.named_children() if n.startswith('dil_conv')] == [
        'dil_conv_k5_1', 'dil_conv_k7_1', 'dil_conv_k3_1_2', 'dil_conv_k3_1_3', 'dil_conv_k3_1_4']
    eq = UniRepLKNet(arch=dict(TINY, kernel_sizes=((3,), (13,), (13, 3), (7,))),
                     drb_variant='same_eq_kernel').stages[1][0].dwconv
    assert eq.branches == ((5, 1), (13, 1), (7, 1), (9, 1), (11, 1))  # Table 3b: k = 5, 13, 7, 9, 11
    plain = UniRepLKNet(arch=dict(TINY, kernel_sizes=((3,), (13,), (13, 0), (7,))), drb_variant='none').stages[2]
    assert isinstance(plain[0].dwconv, nn.Conv2d) and isinstance(plain[1].dwconv, nn.Identity)
    # SW-v1 keeps C - floor(C G) channels (odd allowed), drawn as the official numpy call does
    v1 = ShiftWiseV1(arch=dict(TINY, dims=(10, 12, 16, 20)), kernel_sizes=(13, 11, 9, 7))
    mixer = v1.stages[0][0].large_kernel
    channels = v1.channels[0]
    np.random.seed(123)
    official_ghost = sorted(np.random.choice(channels, int(channels * 0.23), replace=False).tolist())
    assert mixer.ghost_index.tolist() == official_ghost and mixer.rep_channels == channels - int(channels * 0.23)


# -- official SW-v1 and SLaK Decom=False checkpoints ----------------------------------------------------------------
def _manifest(name):
    with open(osp.join(MANIFESTS, f'{name}.json')) as f:
        data = json.load(f)
    assert {'repo', 'commit', 'file', 'constructor'} <= set(data['source'])
    return data['keys']


def _meta_checkpoint(name):
    return {'model': {k: torch.zeros(s, dtype=torch.long) if k.endswith('num_batches_tracked')
                      else torch.empty(s, device='meta') for k, s in _manifest(name).items()}}


def _expected(cls, deploy, **kwargs):
    with torch.device('meta'):
        backbone = cls(deploy=deploy, **kwargs)
    keys = {'backbone.' + k: tuple(v.shape) for k, v in backbone.state_dict().items()}
    keys.update({'head.fc.weight': (1000, backbone.channels[-1]), 'head.fc.bias': (1000,)})
    return keys


@pytest.mark.parametrize('name, convert, cls, kwargs, merged', [
    ('slak-nodecom-T', slak_converter.convert, SLaK, dict(arch='T', decompose=False), False),
    ('slak-nodecom-T-merged', slak_converter.convert, SLaK, dict(arch='T', decompose=False, small_kernel=3), True),
    ('shiftwise-v1-tiny', sw_converter.convert, ShiftWiseV1, dict(arch='tiny'), False),
    ('shiftwise-v1-tiny-merged', sw_converter.convert, ShiftWiseV1, dict(arch='tiny', num_branches=1), False),
    ('shiftwise-v1-tiny-se', sw_converter.convert, ShiftWiseV1, dict(arch='tiny', use_se=True), False),
])
@pytest.mark.parametrize('deploy', [False, True])
def test_official_ablation_layouts_convert(name, convert, cls, kwargs, merged, deploy):
    state, summary = convert(_meta_checkpoint(name), deploy=deploy)
    assert {k: tuple(v.shape) for k, v in state.items()} == _expected(cls, deploy or merged, **kwargs)
    assert summary['arch'] == kwargs['arch'] and summary['form'] == ('deploy' if deploy or merged else 'training')


def test_slak_decom_false_values_survive_and_deploy_predicts_the_same():
    torch.manual_seed(0)
    kwargs = dict(arch=dict(TINY, width_factor=1.0), kernel_sizes=(13, 11, 9, 7), small_kernel=3, decompose=False,
                  gap_before_final_norm=True)
    model = SLaK(**kwargs).double()
    randomize_bn_stats(model, torch.Generator().manual_seed(2))
    _randomize_layer_scales(model, torch.Generator().manual_seed(3))
    official = {k.replace('norm3.', 'norm.'): v for k, v in model.state_dict().items()}  # the official names
    state, summary = slak_converter.convert(official, deploy=True)
    assert summary['decompose'] is False and summary['kernel_sizes'] == [13, 11, 9, 7]
    deployed = SLaK(**kwargs, deploy=True).double().eval()
    deployed.load_state_dict({k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')})
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(deployed(x)[-1], model.eval()(x)[-1], rtol=1e-10, atol=1e-10)


def test_sw_v1_kernel_sizes_are_checked_against_the_weights():
    with pytest.raises(ValueError, match=r'stage 3: M=7 needs 3 filters per channel, the checkpoint has 5'):
        sw_converter.convert(_meta_checkpoint('shiftwise-v1-tiny'), kernel_sizes=(51, 49, 47, 7))


def test_slak_mixed_layouts_are_refused():
    state = _meta_checkpoint('slak-nodecom-T')['model']
    state['stages.0.0.large_kernel.LoRA1.conv.weight'] = torch.empty(124, 1, 51, 5, device='meta')
    with pytest.raises(CheckpointMismatchError, match='mix layouts'):
        slak_converter.convert(state)
