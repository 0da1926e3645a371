"""Checkpoint converters: official layouts (key-and-shape manifests generated from the official model definitions,
tests/data/official_manifests) -> largekernel classifiers, training and deploy form; the shared core; the CLI."""
import importlib.util
import os.path as osp

import pytest
import torch

from conftest import manifest, official_checkpoint
from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.models.backbones.replknet import RepLKNet
from largekernel.models.backbones.shiftwise import ShiftWise, ShiftWiseConv
from largekernel.models.backbones.slak import SLaK
from largekernel.models.backbones.uniconvnet import UniConvNet
from largekernel.models.backbones.unireplknet import UniRepLKNet
from largekernel.models.converters import FAMILIES, CheckpointMismatchError, unwrap
from largekernel.models.converters.core import Drop, convert_and_check, rename, resolve_requested_arch

BACKBONES = dict(replknet=RepLKNet, unireplknet=UniRepLKNet, slak=SLaK, shiftwise=ShiftWise, uniconvnet=UniConvNet)
# manifest -> (family, arch the converter must detect, our constructor kwargs, form of the checkpoint)
CASES = {
    'replknet-31B': ('replknet', '31B', {}, 'training'),
    'replknet-XL': ('replknet', 'XL', {}, 'training'),
    'replknet-31B-merged': ('replknet', '31B', {}, 'deploy'),
    'replknet-31B-merged-deepfused': ('replknet', '31B', {}, 'deploy'),
    'unireplknet-A': ('unireplknet', 'A', {}, 'training'),
    'unireplknet-A-deploy': ('unireplknet', 'A', {}, 'deploy'),
    'slak-T': ('slak', 'T', {}, 'training'),
    'shiftwise-tiny': ('shiftwise', 'tiny', {}, 'training'),
    'uniconvnet-A': ('uniconvnet', 'A', {}, 'training'),
    'uniconvnet-N0': ('uniconvnet', 'N0', {}, 'training'),
}


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def expected_keys(family, arch, deploy, **kwargs):
    """Key -> shape of our classifier (backbone with the head norm + a 1000-class ``head.fc``)."""
    with torch.device('meta'):
        backbone = BACKBONES[family](arch, deploy=deploy, **kwargs)
    keys = {'backbone.' + k: tuple(v.shape) for k, v in backbone.state_dict().items()}
    keys.update({'head.fc.weight': (1000, backbone.channels[-1]), 'head.fc.bias': (1000,)})
    return keys


def shapes(state):
    return {k: tuple(v.shape) for k, v in state.items()}


# -- the official layouts -------------------------------------------------------------------------------------------
def test_manifests_record_their_source():
    for name in CASES:
        source = manifest(name)['source']
        assert {'repo', 'commit', 'file', 'constructor'} <= set(source) and len(source['commit']) == 40, name


@pytest.mark.parametrize('name', sorted(CASES))
@pytest.mark.parametrize('deploy', [False, True], ids=['training', 'deploy'])
def test_official_layout_converts_into_our_model(name, deploy):
    family, arch, kwargs, form = CASES[name]
    state, summary = FAMILIES[family].convert(official_checkpoint(name), deploy=deploy)
    assert summary['arch'] == arch
    out_form = 'deploy' if deploy or form == 'deploy' else 'training'
    assert summary['form'] == out_form
    # UniConvNet has no re-parameterisable branch: its deploy form is the training form
    assert shapes(state) == expected_keys(family, arch, out_form == 'deploy', **kwargs)


def test_replknet_folded_but_unmerged_checkpoint_is_refused_with_the_fix():
    with pytest.raises(CheckpointMismatchError, match='folded but not merged.*structural_reparam'):
        FAMILIES['replknet'].convert(official_checkpoint('replknet-31B-deepfused'))


def test_replknet_mmpretrain_layout():
    """mmpretrain 1.x keeps the official backbone names under ``backbone.``, with the head BN as
    ``backbone.stages.3.norm`` and the classifier as ``head.fc``."""
    official = official_checkpoint('replknet-31B')['model']
    mmpretrain = {('backbone.stages.3.norm.' + k[5:] if k.startswith('norm.') else
                   'head.fc.' + k[5:] if k.startswith('head.') else 'backbone.' + k): v for k, v in official.items()}
    state, summary = FAMILIES['replknet'].convert({'state_dict': mmpretrain}, layout='auto')
    assert summary == dict(arch='31B', form='training')
    assert shapes(state) == expected_keys('replknet', '31B', False)
    with pytest.raises(CheckpointMismatchError, match=r"not a RepLKNet checkpoint: 1 missing keys: \['stages.\*'\]"):
        FAMILIES['replknet'].convert({'state_dict': mmpretrain}, layout='official')
    with pytest.raises(ValueError, match="layout 'timm'; valid"):
        FAMILIES['replknet'].convert(official, layout='timm')


def test_unireplknet_dense_prediction_checkpoint():
    """The official mmdet/mmseg backbones: ``backbone.`` prefix, out norms ``norm0..3``, no head."""
    official = official_checkpoint('unireplknet-A')['model']
    dense = {'backbone.' + k: v for k, v in official.items() if not k.startswith(('norm.', 'head.'))}
    dense.update({f'backbone.norm{i}.{p}': torch.empty(c, device='meta') for i, c in enumerate((40, 80, 160, 320))
                  for p in ('weight', 'bias')})
    state, _ = FAMILIES['unireplknet'].convert({'state_dict': dense})
    with torch.device('meta'):
        ours = UniRepLKNet('A', out_indices=(0, 1, 2, 3))
    assert shapes(state) == {'backbone.' + k: tuple(v.shape) for k, v in ours.state_dict().items()}
    with pytest.raises(CheckpointMismatchError, match=r"unknown keys: \['decode_head.conv_seg.weight'\]"):
        FAMILIES['unireplknet'].convert({'state_dict': {**dense, 'decode_head.conv_seg.weight': torch.zeros(1)}})


def test_unireplknet_values_survive_and_deploy_predicts_the_same():
    """Real values from the smallest official layout: renamed tensors are the checkpoint's own, and the deploy
    conversion (meta-built model, switch_to_deploy) predicts what the training form predicts."""
    checkpoint = official_checkpoint('unireplknet-A', device='cpu')
    official = checkpoint['model']
    training = FAMILIES['unireplknet'].convert_unireplknet(checkpoint)
    assert training['backbone.stages.2.3.pwconv2.weight'] is official['stages.2.3.pwconv2.0.weight']
    assert training['backbone.norm3.weight'] is official['norm.weight']
    deployed = FAMILIES['unireplknet'].convert_unireplknet(checkpoint, deploy=True)
    models = []
    for deploy, state in ((False, training), (True, deployed)):
        model = UniRepLKNet('A', deploy=deploy, gap_before_final_norm=True).eval()
        model.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
        models.append(model)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert rel_err(models[1](x)[0], models[0](x)[0]) < 1e-4
    assert torch.equal(deployed['head.fc.weight'], official['head.weight'])


def test_shiftwise_tables_are_regenerated_from_the_seeds():
    state, summary = FAMILIES['shiftwise'].convert(official_checkpoint('shiftwise-tiny'))
    assert summary['num_branches'] == 2 and summary['num_edges'] == 4
    op = ShiftWiseConv(80, 51, small_kernel=3)  # stage 0 of the released SW-tiny
    for name in ('rep_index', 'ghost_index', 'h_table', 'v_table', 's_table'):
        assert torch.equal(state[f'backbone.stages.0.1.mixer.{name}'], getattr(op, name)), name
    merged = {k.replace('LoRAs.0', 'LoRA'): v for k, v in official_checkpoint('shiftwise-tiny')['model'].items()
              if 'LoRAs.1' not in k}  # the official merge_branches() layout
    state, summary = FAMILIES['shiftwise'].convert(merged)
    assert summary['num_branches'] == 1
    assert shapes(state) == expected_keys('shiftwise', 'tiny', False, num_branches=1)


def test_slak_ema_and_decom_names():
    official = official_checkpoint('slak-T')['model']
    ema = {k: torch.empty(v.shape, device='meta', dtype=torch.float16) if v.is_floating_point() else v
           for k, v in official.items()}
    state, _ = FAMILIES['slak'].convert({'model': official, 'model_ema': ema}, ema=True)
    assert state['head.fc.weight'].dtype == torch.float16
    decom = {k.replace('.LoRA', '.Decom'): v for k, v in official.items()}
    assert shapes(FAMILIES['slak'].convert_slak(decom)) == expected_keys('slak', 'T', False)
    with pytest.raises(ValueError, match='both map to'):
        FAMILIES['slak'].convert({**official, 'stages.0.0.large_kernel.Decom1.conv.weight': torch.zeros(1)})
    with pytest.raises(CheckpointMismatchError, match='Decom=False ablation'):
        FAMILIES['slak'].convert({**official, 'stages.0.0.large_kernel.lkb_origin.conv.weight': torch.zeros(1)})


# -- the deploy conversion is the model's own switch_to_deploy() -------------------------------------------------------
def _small(family):
    torch.manual_seed(0)
    if family == 'replknet':
        return RepLKNet, dict(arch=dict(large_kernel_sizes=(9, 7, 7, 5), layers=(1, 1, 2, 1), channels=(8, 16, 24, 32),
                                        small_kernel=3))
    if family == 'slak':
        return SLaK, dict(arch=dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32), width_factor=1.0),
                          kernel_sizes=(13, 11, 9, 7), small_kernel=3)
    return ShiftWise, dict(arch=dict(depths=(1, 1, 2, 1), dims=(10, 12, 16, 20)), kernel_sizes=(13, 11, 9, 7))


@pytest.mark.parametrize('family', ['replknet', 'slak', 'shiftwise'])
def test_deploy_conversion_matches_switch_to_deploy(family):
    cls, kwargs = _small(family)
    model = cls(**kwargs).double().eval()
    randomize_bn_stats(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    head = {'head.fc.weight': torch.randn(5, model.channels[-1], dtype=torch.float64)}
    out = convert_and_check(state, head, cls, kwargs, 'test', deploy=True)
    model.switch_to_deploy()
    reference = model.state_dict()
    assert set(out) == {'backbone.' + k for k in reference} | set(head)
    for key, value in reference.items():
        assert out['backbone.' + key].dtype == value.dtype and torch.allclose(out['backbone.' + key], value), key


# -- errors ---------------------------------------------------------------------------------------------------------
def test_unknown_and_missing_keys_are_listed():
    official = official_checkpoint('slak-T')['model']
    with pytest.raises(CheckpointMismatchError, match=r"2 unknown keys: \['mask.a', 'pos'\]") as err:
        FAMILIES['slak'].convert({**official, 'mask.a': torch.zeros(1), 'pos': torch.zeros(1)})
    assert err.value.unknown == ['mask.a', 'pos'] and isinstance(err.value, ValueError)
    del official['stages.1.0.pwconv2.bias']
    with pytest.raises(CheckpointMismatchError, match=r"1 missing keys: \['stages.1.0.pwconv2.bias'\]") as err:
        FAMILIES['slak'].convert(official)
    assert err.value.missing == ['stages.1.0.pwconv2.bias']
    official = official_checkpoint('uniconvnet-A')['model']
    official['stages.0.0.attn.proj1.weight'] = torch.zeros(6, 6, 1, 1)  # layer 1 has no reduction
    with pytest.raises(CheckpointMismatchError, match=r"unknown keys: \['stages.0.0.attn.proj1.weight'\]"):
        FAMILIES['uniconvnet'].convert(official)
    official = official_checkpoint('unireplknet-A')['model']
    official['stages.0.0.se.down.weight'] = torch.empty(3, 40, 1, 1, device='meta')
    with pytest.raises(CheckpointMismatchError, match=r'shape-mismatched keys: \[.stages.0.0.se.down.weight: '
                                                      r'checkpoint \(3, 40, 1, 1\) vs model \(10, 40, 1, 1\)'):
        FAMILIES['unireplknet'].convert(official)


def test_unwrap():
    t = torch.zeros(1)
    assert unwrap({'state_dict': {'module.a': t}, 'meta': {}}) == {'a': t}
    assert unwrap({'model': {'a': t}, 'model_ema': {'b': t}}, ema=True) == {'b': t}
    assert unwrap({'module': {'a': t}}) == unwrap({'a': t}) == {'a': t}
    with pytest.raises(KeyError, match=r"--ema: the checkpoint has no EMA weights .*\['model', 'epoch'\]"):
        unwrap({'model': {'a': t}, 'epoch': 3}, ema=True)
    with pytest.raises(TypeError, match=r"not a state dict: 1 entries are not tensors \(\['epoch'\]\)"):
        unwrap({'a': t, 'epoch': 3})
    with pytest.raises(TypeError, match='must be a dict'):
        unwrap([t])


def test_rename_rules():
    t = torch.zeros(1)
    rules = [(r'a\.(\d+)', r'b.\1'), (r'aux\..*', Drop('auxiliary head, not part of the backbone'))]
    assert rename({'a.1': t, 'aux.w': t}, rules, 'x') == {'b.1': t}
    with pytest.raises(ValueError, match=r"'a.1' matches 2 rules"):
        rename({'a.1': t}, rules + [(r'a\.1', 'c')], 'x')
    with pytest.raises(ValueError, match=r"'a.1' and 'c' both map to 'b.1'"):
        rename({'a.1': t, 'c': t}, rules + [('c', 'b.1')], 'x')


def test_arch_checks():
    checkpoint = official_checkpoint('unireplknet-A')
    assert FAMILIES['unireplknet'].convert(checkpoint, arch='a')[1]['arch'] == 'A'
    with pytest.raises(ValueError, match=r"--arch T .* does not match the checkpoint.*\(arch \['A'\]\)"):
        FAMILIES['unireplknet'].convert(checkpoint, arch='T')
    with pytest.raises(KeyError, match=r"unknown --arch 'Q'; valid: \['A', 'B'"):
        FAMILIES['unireplknet'].convert(checkpoint, arch='Q')
    zoo = dict(X=dict(depths=(1,)), Y=dict(depths=(1,)), Z=dict(depths=(2,)))
    with pytest.raises(ValueError, match=r"fit the variants \['X', 'Y'\]; pass --arch"):
        resolve_requested_arch('F', None, dict(depths=(1,)), zoo)
    assert resolve_requested_arch('F', 'y', dict(depths=(1,)), zoo) == ('Y', 'Y')
    assert resolve_requested_arch('F', None, dict(depths=(3,)), zoo) == (dict(depths=(3,)), "custom {'depths': (3,)}")


# -- CLI ------------------------------------------------------------------------------------------------------------
def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, f'tools/model_converters/{name}.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_cli_converts_and_the_result_loads_as_pretrained(tmp_path, capsys):
    src, dst = tmp_path / 'official.pth', tmp_path / 'deploy.pth'
    torch.save(official_checkpoint('unireplknet-A', device='cpu'), src)
    load_tool('convert').main(['unireplknet', str(src), str(dst), '--deploy'])
    assert 'unireplknet A, deploy form, 156 tensors, 1000-class head' in capsys.readouterr().out
    model = UniRepLKNet('A', deploy=True, init_cfg=dict(type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    model.init_weights()
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['family'] == 'unireplknet' and saved['meta']['form'] == 'deploy'
    # the per-family alias, with its family-specific flags
    torch.save(official_checkpoint('uniconvnet-A', device='cpu'), src)
    load_tool('uniconvnet_to_largekernel').main([str(src), str(dst), '--no-head'])
    assert 'uniconvnet A, training form' in capsys.readouterr().out
    assert not any(k.startswith('head.') for k in torch.load(dst, weights_only=True)['state_dict'])


def test_cli_errors(tmp_path, capsys):
    tool = load_tool('convert')
    with pytest.raises(SystemExit):
        tool.main(['convnext', 'a.pth', 'b.pth'])
    err = capsys.readouterr().err
    assert "invalid choice: 'convnext'" in err and all(f in err for f in FAMILIES)
    with pytest.raises(SystemExit):
        tool.main(['slak', 'a.pth', 'b.pth', '--layout', 'official'])
    assert "--layout applies to ['replknet'] only, not to slak" in capsys.readouterr().err
    src = tmp_path / 'official.pth'
    torch.save(official_checkpoint('uniconvnet-A', device='cpu'), src)
    with pytest.raises(KeyError, match='--ema: the checkpoint has no EMA weights'):
        tool.main(['uniconvnet', str(src), str(tmp_path / 'out.pth'), '--ema'])


def test_cli_family_options_reach_the_converter(tmp_path, capsys):
    tool = load_tool('convert')
    with pytest.raises(SystemExit):
        tool.main(['replknet', 'a.pth', 'b.pth', '--small-kernel', '5'])
    assert "--small-kernel applies to ['slak'] only, not to replknet" in capsys.readouterr().err
    src, dst = tmp_path / 'sw_v1.pth', tmp_path / 'out.pth'
    torch.save(official_checkpoint('shiftwise-v1-tiny', device='cpu'), src)
    with pytest.raises(ValueError, match=r'kernel_sizes \(51, 49, 47\) must give one M per stage'):
        tool.main(['shiftwise', str(src), str(dst), '--kernel-sizes', '51', '49', '47'])
    state = tool.main(['shiftwise', str(src), str(dst), '--kernel-sizes', '51', '49', '47', '13'])
    assert dst.exists() and any(k.startswith('backbone.') for k in state)


@pytest.mark.slow
def test_official_sw_tiny_to_deploy_pipeline(tmp_path):
    """Random official SW-tiny checkpoint -> convert.py -> tools/model_converters/reparameterize.py, and
    convert.py --deploy: both deploy classifiers give the training classifier's logits."""
    pytest.importorskip('mmpretrain.models', reason='mmpretrain (ImageClassifier) is not importable')
    from largekernel.utils import build_model_from_config
    configs = ['configs/shiftwise/shiftwise-tiny_8xb64-accum8_in1k.py',
               'configs/shiftwise/deploy/shiftwise-tiny-deploy_8xb64-accum8_in1k.py']
    src, train, deploy, direct = (tmp_path / f'{n}.pth' for n in ('official', 'train', 'deploy', 'direct'))
    torch.save(official_checkpoint('shiftwise-tiny', device='cpu'), src)
    load_tool('convert').main(['shiftwise', str(src), str(train)])
    load_tool('convert').main(['shiftwise', str(src), str(direct), '--deploy'])
    load_tool('reparameterize').main([configs[0], str(train), str(deploy)])
    x = torch.randn(2, 3, 64, 64)
    outputs = []
    for config, path in ((configs[0], train), (configs[1], deploy), (configs[1], direct)):
        model = build_model_from_config(config).eval()
        model.load_state_dict(torch.load(path, weights_only=True)['state_dict'])
        with torch.no_grad():
            outputs.append(model(x, mode='tensor'))
    assert rel_err(outputs[1], outputs[0]) < 1e-4 and rel_err(outputs[2], outputs[0]) < 1e-4
