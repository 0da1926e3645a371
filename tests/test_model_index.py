"""model-index.yml and the metafiles: every entry points at an existing config of its name that builds the published
backbone, every config is listed, the reader's lookups and errors, and model_zoo.py keeps the READMEs in sync."""
import glob
import importlib.util
import os.path as osp

import pytest
import yaml
from mmengine.config import Config

from largekernel.utils.model_index import (REPO_ROOT, find_model, get_model, list_models, load_collections,
                                           load_model_index)

FAMILIES = ['replknet', 'unireplknet', 'slak', 'shiftwise', 'uniconvnet', 'convnest']
# configs with no published counterpart: the quick start (Fashion-MNIST)
NOT_IN_METAFILES = {'configs/unireplknet/unireplknet-mini_1xb64_fashion-mnist.py'}
ENTRIES = list(load_model_index().values())


def test_model_index_imports_one_metafile_per_family():
    with open(osp.join(REPO_ROOT, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    assert imports == [f'configs/{family}/metafile.yml' for family in FAMILIES]
    collections = load_collections()
    assert [c['metafile'] for c in collections.values()] == imports
    for c in collections.values():
        assert c['Paper']['URL'].startswith('https://') and c['Paper']['Title']
        assert osp.isfile(osp.join(REPO_ROOT, c['README']))


@pytest.mark.parametrize('entry', ENTRIES, ids=lambda e: e.name)
def test_entry_config_exists_and_is_named_after_it(entry):
    family = osp.basename(osp.dirname(load_collections()[entry.collection]['metafile']))
    if entry.config is None:  # an architecture with a published size only (UniRepLKNet-H)
        assert '_' not in entry.name and not entry.results and not entry.weights
        return
    assert osp.isfile(osp.join(REPO_ROOT, entry.config)), entry.config
    assert f'configs/{family}' in (osp.dirname(entry.config), osp.dirname(osp.dirname(entry.config)))  # or a modality
    assert osp.splitext(osp.basename(entry.config))[0] == entry.name


@pytest.mark.parametrize('entry', ENTRIES, ids=lambda e: e.name)
def test_entry_fields(entry):
    assert entry.params_form in (None, 'deploy', 'training', 'sparse')
    if entry.params is not None:
        assert isinstance(entry.params, int) and entry.params_form is not None
    if entry.flops is not None:  # a detector's FLOPs may be published without its parameter count (ConvNeSt)
        assert isinstance(entry.flops, int) and (entry.params is not None or entry.training_data[-1] == 'COCO')
    if entry.params_form == 'sparse':
        assert 0 < entry.sparsity < 1
    assert entry.ema_decay is None or (isinstance(entry.ema_decay, float) and 0.99 < entry.ema_decay < 1)
    for value in entry.reference.values():  # a reference count refines the published one, it is never far off
        assert isinstance(value, int)
    for key, published in (('Parameters', entry.params), ('FLOPs', entry.flops)):
        if key in entry.reference and entry.name != 'uniconvnet-p0_8xb128-accum4_in1k':
            assert entry.reference[key] == pytest.approx(published, rel=0.1), (entry.name, key)
    for result in entry.results:
        assert set(result) == {'Task', 'Dataset', 'Metrics'} and result['Metrics']
    if entry.weights:
        assert entry.weights.startswith('https://') and entry.converted_from['Weights'] == entry.weights
    if entry.converted_from:
        assert entry.converted_from['Code'].startswith('https://github.com/')


def test_p0_keeps_the_published_typo_and_the_corrected_count():
    p0, p1 = find_model('UniConvNet', 'P0'), find_model('UniConvNet', 'P1')
    assert p0.flops > p1.flops > p0.target('FLOPs')  # P0 is P1 with fewer blocks


@pytest.mark.parametrize('family', FAMILIES)
def test_every_config_of_a_family_is_listed(family):
    """Every config of configs/<family>/ is an entry; deploy twins are not listed, but each belongs to one."""
    listed = {e.config for e in ENTRIES if e.config}
    configs = {osp.relpath(p, REPO_ROOT) for p in glob.glob(osp.join(REPO_ROOT, 'configs', family, '*.py'))}
    assert sorted(configs - NOT_IN_METAFILES - listed) == []
    for twin in glob.glob(osp.join(REPO_ROOT, 'configs', family, 'deploy', '*.py')):
        stem = osp.basename(twin).replace('-deploy', '', 1)
        assert f'configs/{family}/{stem}' in listed | NOT_IN_METAFILES, twin


@pytest.mark.parametrize('entry', [e for e in ENTRIES if e.training_data[-1] in ('ImageNet-1k', 'ImageNet-21k')
                                    and e.config], ids=lambda e: e.name)
def test_imagenet_config_states_the_listed_model(entry):
    """Backbone class, arch, classes and evaluation resolution of the config are the metafile's."""
    cfg = Config.fromfile(entry.config)
    backbone = cfg.model.backbone
    assert backbone.type == f'largekernel.{entry.backbone}' and str(backbone.arch) == entry.arch
    pretraining = entry.training_data[-1] == 'ImageNet-21k'
    assert cfg.model.head.num_classes == (21841 if pretraining else 1000)
    if not pretraining:  # the final size of the test pipeline
        size = [t.get('crop_size', t.get('scale')) for t in cfg.test_dataloader.dataset.pipeline
                if t.type in ('CenterCrop', 'Resize')][-1]
        assert (size if isinstance(size, int) else size[0]) == entry.input_size


def test_reader_lookups_and_errors():
    t = get_model('unireplknet-t_8xb128-accum4_in1k')
    assert find_model('UniRepLKNet', 'T', input_size=224) is t
    assert t.top1 == t.metric('Image Classification', 'ImageNet-1k', 'Top 1 Accuracy') and t.top1 > 0
    assert t.target('Parameters') == t.reference['Parameters'] and t.params_form == 'deploy'
    assert find_model('SLaK', 'T').target('Parameters') == find_model('SLaK', 'T').params  # no reference: published
    assert [e.backbone for e in list_models(collection='ConvNeSt')].count('ConvNeStIsotropic') == 7
    with pytest.raises(KeyError, match=r"unknown model 'unireplknet-t_8xb128_in1k'; did you mean "
                                       r"\['unireplknet-t_8xb128-accum4_in1k'"):
        get_model('unireplknet-t_8xb128_in1k')
    with pytest.raises(KeyError, match=r"no published UniRepLKNet 'T' at 384; published .*\('T', 224\)"):
        find_model('UniRepLKNet', 'T', input_size=384)
    with pytest.raises(KeyError, match=r"unknown backbone 'UniRepLK'; valid: \['ConvNeSt', "):
        list_models(backbone='UniRepLK')
    with pytest.raises(KeyError, match=r"no published or reference value 'Dense FLOPs'; it has \["):
        t.target('Dense FLOPs')


def test_reader_names_a_missing_field(tmp_path):
    (tmp_path / 'configs').mkdir()
    (tmp_path / 'model-index.yml').write_text('Import:\n  - configs/m.yml\n')
    (tmp_path / 'configs' / 'm.yml').write_text(
        'Collections:\n  - Name: X\nModels:\n  - Name: x_in1k\n    In Collection: X\n'
        '    Metadata: {Training Data: ImageNet-1k, Backbone: X}\n')
    with pytest.raises(KeyError, match="configs/m.yml: model 'x_in1k' lacks the field 'Arch'"):
        load_model_index(str(tmp_path))


def _model_zoo():
    spec = importlib.util.spec_from_file_location('model_zoo', 'tools/analysis_tools/model_zoo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_zoo_check_one_family(tmp_path, monkeypatch, capsys):
    """--check passes on the committed family README; on a stale copy it fails with a diff, --write repairs it."""
    tool = _model_zoo()
    assert tool.main(['--check', '--family', 'shiftwise']) == 0
    with open(osp.join(REPO_ROOT, 'configs', 'shiftwise', 'README.md')) as f:
        text = f.read()
    top1 = get_model('shiftwise-tiny_8xb64-accum8_in1k').top1
    assert f'| {top1} |' in text
    copy = tmp_path / 'configs' / 'shiftwise' / 'README.md'
    copy.parent.mkdir(parents=True)
    copy.write_text(text.replace(f'| {top1} |', '| 99.9 |'))
    monkeypatch.setattr(tool, 'REPO_ROOT', str(tmp_path))
    capsys.readouterr()
    assert tool.main(['--check', '--family', 'shiftwise']) == 1
    diff = capsys.readouterr()
    assert '-| [shiftwise-tiny' in diff.out and f'+| [shiftwise-tiny' in diff.out and 'stale' in diff.err
    assert tool.main(['--write', '--family', 'shiftwise']) == 0 and copy.read_text() == text
    with pytest.raises(ValueError, match='needs exactly one <!-- model-zoo:start -->'):
        tool.replace_block('no markers', [], 'README.md')
    with pytest.raises(SystemExit, match="unknown family \\['shiftwize'\\]; valid: \\['convnest'"):
        tool.main(['--check', '--family', 'shiftwize'])


@pytest.mark.slow
def test_model_zoo_check_all_readmes():
    assert _model_zoo().main(['--check']) == 0
