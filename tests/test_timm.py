"""The timm models (``largekernel.models.timm_models``): names, interface, strict loading of our checkpoints, the same
logits as the mmpretrain classifier of each family's config, ``features_only`` and ``reparameterize_model``."""
import subprocess
import sys

import pytest
import timm
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from test_backbone_api import BACKBONES, perturb, rel_err
from timm.utils import reparameterize_model

from largekernel.models import ConvNeStIsotropic
from largekernel.models.timm_models import FAMILIES, LargeKernelClassifier, build_timm_model
from largekernel.utils import build_model_from_config

pytestmark = pytest.mark.usefixtures('single_thread')

# timm family -> (backbone name in test_backbone_api.BACKBONES, the family's ImageNet config)
CONFIGS = {
    'unireplknet': ('UniRepLKNet', 'configs/unireplknet/unireplknet-a_8xb128-accum4_in1k.py'),
    'replknet': ('RepLKNet', 'configs/replknet/replknet-31B_8xb64-accum4_in1k.py'),
    'slak': ('SLaK', 'configs/slak/slak-t_8xb128-accum4_in1k.py'),
    'shiftwise': ('ShiftWise', 'configs/shiftwise/shiftwise-tiny_8xb64-accum8_in1k.py'),
    'uniconvnet': ('UniConvNet', 'configs/uniconvnet/uniconvnet-n0_8xb128-accum4_in1k.py'),
    'convnest': ('ConvNeSt', 'configs/convnest/convnest-a_8xb128-accum4_in1k.py'),
    'convnest_isotropic': ('ConvNeStIsotropic', 'configs/convnest/convnest-isotropic-a_8xb128-accum4_in1k.py'),
}
NUM_CLASSES = 5


def images(n=2, size=64):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(1))


def small_variant(family):
    """The family's first registered variant (whose pretrained config a custom arch uses)."""
    return f'{family}_{next(iter(FAMILIES[family][0].arch_zoo)).lower()}'


def mmpretrain_classifier(family, **backbone_kwargs):
    """The family's config with the small test arch, randomised (BN statistics, every parameter)."""
    name, config = CONFIGS[family]
    _, arch, extra = BACKBONES[name]
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(arch=arch, **extra, **backbone_kwargs)
    cfg.model.head.update(num_classes=NUM_CLASSES, in_channels=BACKBONES[name][0](arch, **extra).channels[-1])
    torch.manual_seed(0)
    return perturb(build_model_from_config(cfg)).eval()


def save_checkpoint(model, path):
    torch.save({'state_dict': model.state_dict(), 'meta': dict(note='test')}, path)
    return str(path)


def timm_model(family, path=None, **kwargs):
    _, arch, extra = BACKBONES[CONFIGS[family][0]]
    overlay = dict(file=path, num_classes=NUM_CLASSES) if path else None
    return build_timm_model(family, arch, variant=small_variant(family), pretrained=path is not None,
                            pretrained_cfg_overlay=overlay, num_classes=NUM_CLASSES, **{**extra, **kwargs}).eval()


# -- names and registry ----------------------------------------------------------------------------------------------
def test_every_arch_is_registered_under_a_timm_style_name():
    expected = {f'{family}_{arch.lower()}' for family, (cls, _, _) in FAMILIES.items() for arch in cls.arch_zoo}
    assert set(timm.list_models(module='timm_models')) == expected
    assert {'unireplknet_t', 'replknet_31b', 'slak_t', 'shiftwise_tiny', 'uniconvnet_a', 'convnest_t',
            'convnest_isotropic_t'} <= expected
    for name in expected:
        assert name == name.lower() and timm.is_model(name)
        assert timm.get_pretrained_cfg(name).architecture == name


def test_import_largekernel_registers_the_models():
    code = "import largekernel, timm; print(len(timm.list_models('unireplknet_*')), timm.is_model('slak_t'))"
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(len(UNIREPLKNET_ARCHS)), 'True']


UNIREPLKNET_ARCHS = FAMILIES['unireplknet'][0].arch_zoo


@pytest.mark.parametrize('family', list(FAMILIES))
def test_pretrained_cfg_names_the_first_conv_and_the_classifier(family):
    model = timm_model(family)
    cfg = model.pretrained_cfg
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert model.get_submodule(cfg['first_conv']) is first and first.in_channels == 3
    assert model.get_submodule(cfg['classifier']) is model.get_classifier()
    assert cfg['input_size'] == (3, 224, 224) and cfg['interpolation'] == 'bicubic'


@pytest.mark.slow
def test_state_dict_layout_equals_every_config():
    """On the meta device: each ImageNet config's classifier has the keys and shapes of the timm model."""
    import glob

    for config in sorted(glob.glob('configs/*/*.py')):
        cfg = Config.fromfile(config)
        if cfg.get('model', {}).get('type') != 'ImageClassifier' or not isinstance(cfg.model.backbone.arch, str):
            continue
        backbone = cfg.model.backbone.type.split('.')[-1]
        family = next(f for f, (cls, _, _) in FAMILIES.items() if cls.__name__ == backbone)
        with torch.device('meta'):
            ours = build_model_from_config(cfg).state_dict()
            theirs = timm.create_model(f'{family}_{cfg.model.backbone.arch.lower()}',
                                       num_classes=cfg.model.head.num_classes).state_dict()
        assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}, config


# -- same logits as mmpretrain, re-parameterised and features_only ---------------------------------------------------
@pytest.mark.parametrize('family', list(FAMILIES))
def test_checkpoint_gives_the_mmpretrain_logits(family, tmp_path):
    reference = mmpretrain_classifier(family)
    path = save_checkpoint(reference, tmp_path / 'model.pth')
    model = timm_model(family, path)
    x = images()
    with torch.no_grad():
        expected = reference(x, mode='tensor')
        logits = model(x)
        assert rel_err(logits, expected) < 1e-5
        assert rel_err(model.forward_head(model.forward_features(x)), expected) < 1e-5

        deployed = reparameterize_model(model)
        assert deployed.backbone.deploy and not model.backbone.deploy
        assert rel_err(deployed(x), expected) < 1e-4

        features = timm_model(family, path, features_only=True, out_indices=(0, -1))
        stages = reference.backbone.num_stages
        backbone = BACKBONES[CONFIGS[family][0]][0]
        plain = backbone(BACKBONES[CONFIGS[family][0]][1], **BACKBONES[CONFIGS[family][0]][2],
                         out_indices=(0, stages - 1), out_norms=False).eval()
        plain.load_state_dict(reference.backbone.state_dict(), strict=False)
        outs = features(x)
        assert len(outs) == 2 and all(rel_err(a, b) < 1e-6 for a, b in zip(outs, plain(x)))
        assert features.feature_info.channels() == [plain.channels[0], plain.channels[-1]]
        assert [o.shape[-1] for o in outs] == [64 // r for r in features.feature_info.reduction()]
        deployed_features = reparameterize_model(features)
        assert all(rel_err(a, b) < 1e-4 for a, b in zip(deployed_features(x), outs))


@pytest.mark.parametrize('family', ['unireplknet', 'replknet'])
def test_deploy_checkpoint_loads_into_the_deploy_form(family, tmp_path):
    reference = mmpretrain_classifier(family)
    x = images()
    with torch.no_grad():
        expected = reference(x, mode='tensor')
        reference.backbone.switch_to_deploy()
        path = save_checkpoint(reference, tmp_path / 'deploy.pth')
        assert rel_err(timm_model(family, path, deploy=True)(x), expected) < 1e-4
    with pytest.raises(RuntimeError, match=r'training form\).*unexpected keys.*deploy=True'):
        timm_model(family, path)


def test_registered_name_loads_a_file_and_a_state_dict(tmp_path):
    torch.manual_seed(0)
    source = timm.create_model('unireplknet_a').eval()
    perturb(source)
    path = str(tmp_path / 'a.pth')  # as the Runner writes it: the message hub is not weights-only loadable
    torch.save({'state_dict': source.state_dict(), 'message_hub': dict(log_scalars=dict(loss=HistoryBuffer()))}, path)
    x = images(n=1)
    with torch.no_grad():
        expected = source(x)
        from_file = timm.create_model('unireplknet_a', pretrained=True, pretrained_cfg_overlay=dict(file=path))
        assert torch.equal(from_file.eval()(x), expected)
        from_state = timm.create_model('unireplknet_a', pretrained=True,
                                       pretrained_cfg_overlay=dict(state_dict=source.state_dict()))
        assert torch.equal(from_state.eval()(x), expected)
        # fine-tuning to other classes: everything but the classifier is loaded
        tuned = timm.create_model('unireplknet_a', pretrained=True, pretrained_cfg_overlay=dict(file=path),
                                  num_classes=10).eval()
        assert torch.equal(tuned.forward_head(tuned.forward_features(x), pre_logits=True),
                           source.forward_head(source.forward_features(x), pre_logits=True))


def test_mismatching_checkpoint_raises_naming_the_keys(tmp_path):
    reference = mmpretrain_classifier('convnest')
    state = reference.state_dict()
    extra = save_checkpoint(reference, tmp_path / 'ok.pth')
    torch.save({'state_dict': {**state, 'backbone.extra.weight': torch.zeros(1)}}, extra)
    with pytest.raises(RuntimeError, match=r"ok.pth does not match convnest_a .*"
                                           r"unexpected keys \(1\): \['backbone.extra.weight'\]"):
        timm_model('convnest', extra)
    missing = str(tmp_path / 'missing.pth')
    torch.save({'state_dict': {k: v for k, v in state.items() if k != 'backbone.norm3.weight'}}, missing)
    with pytest.raises(RuntimeError, match=r"missing keys \(1\): \['backbone.norm3.weight'\]"):
        timm_model('convnest', missing)
    with pytest.raises(RuntimeError, match=r'shape mismatches \(1\).*backbone.downsample_layers.0.0.weight'):
        timm_model('convnest', extra.replace('ok', 'missing'), in_chans=1)


# -- timm's classifier interface -------------------------------------------------------------------------------------
def test_classifier_interface():
    model = timm_model('unireplknet')
    x = images()
    with torch.no_grad():
        pooled = model.forward_head(model.forward_features(x), pre_logits=True)
        final, intermediates = model.forward_intermediates(x)
        assert torch.equal(final, model.forward_features(x)) and len(intermediates) == 4
        assert model.num_features == model.head_hidden_size == pooled.shape[1]
        model.reset_classifier(0)
        assert model.num_classes == 0 and torch.equal(model(x), pooled)
        model.reset_classifier(0, '')
        assert model(x).shape == final.shape
        model.reset_classifier(7, 'avg')
        assert model(x).shape == (2, 7)
    with pytest.raises(ValueError, match="global_pool='max' is not supported; valid"):
        model.reset_classifier(7, 'max')
    with pytest.raises(ValueError, match="needs num_classes=0"):
        model.reset_classifier(7, '')
    with pytest.raises(TypeError, match=r"\['out_indices'\] are set by the classifier"):
        LargeKernelClassifier(*BACKBONES['ConvNeSt'][:2], out_indices=(0,))
    with pytest.raises(KeyError, match="unknown family 'convnext'"):
        build_timm_model('convnext', 'T')


def test_isotropic_features_default_to_the_last_three_blocks():
    features = timm_model('convnest_isotropic', features_only=True)
    depth = BACKBONES['ConvNeStIsotropic'][1]['depth']
    assert isinstance(features.model.backbone, ConvNeStIsotropic)
    assert features.feature_info.module_name() == [f'backbone.stages.{i}' for i in range(depth - 3, depth)]
