"""ConvNeSt (paper §2-§4): fidelity of every variant, block dataflow, the shared backbone API, bad input."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from largekernel.models.backbones.convnest import ConvNeSt, ConvNeStBlock, ConvNeStIsotropic
from largekernel.registry import MODELS
from largekernel.utils import count_macs, count_params
from largekernel.utils.model_index import list_models

# Published targets (configs/convnest/metafile.yml, paper Table 4; 1000-class head, 224 x 224): the reference
# counts of the described architecture, to which the paper's rounded params and FLOPs (= MACs) correspond.
HIERARCHICAL = {e.arch: (e.target('Parameters') / 1e6, e.target('FLOPs') / 1e9)  # arch: (params M, GMACs)
                for e in list_models(backbone='ConvNeSt') if e.training_data[-1].startswith('ImageNet')}
ISOTROPIC = {e.arch: (e.target('Parameters') / 1e6, e.target('FLOPs') / 1e9)
             for e in list_models(backbone='ConvNeStIsotropic')}


class Classifier(nn.Module):
    """Backbone in classification mode (GAP -> LN) + the 1000-class linear head of the paper."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.channels[-1], 1000)

    def forward(self, x):
        return self.head(self.backbone(x)[-1])


def _classifier_on_meta(cls, arch):
    with torch.device('meta'):
        return Classifier(cls(arch=arch, gap_before_final_norm=True, out_indices=(-1,)))


@pytest.mark.parametrize('cls, arch, target', [(ConvNeSt, a, t) for a, t in HIERARCHICAL.items()]
                         + [(ConvNeStIsotropic, a, t) for a, t in ISOTROPIC.items()])
def test_params_and_macs_match_the_paper(cls, arch, target):
    model = _classifier_on_meta(cls, arch)
    params = count_params(model) / 1e6
    macs = count_macs(model, inputs=torch.zeros(1, 3, 224, 224, device='meta')) / 1e9
    assert abs(params - target[0]) / target[0] <= 0.005, (arch, params)
    assert abs(macs - target[1]) / target[1] <= 0.03, (arch, macs)


# Table 2 (ConvNeSt-T, expansion-ratio sweep): (ER, C, depths) -> published (params M, GFLOPs), one decimal for FLOPs,
# whole millions for params (28.52M is printed as 28, so params get half a unit plus slack).
ER_SWEEP = [((4, 96, (3, 3, 8, 3)), (28, 4.5)), ((6, 80, (3, 3, 8, 3)), (29, 4.7)),
            ((8, 72, (3, 3, 6, 3)), (28, 4.6)), ((10, 64, (3, 3, 6, 3)), (28, 4.6)),
            ((12, 56, (3, 3, 8, 3)), (28, 4.8)), ((16, 48, (3, 3, 8, 3)), (28, 4.8))]


@pytest.mark.parametrize('config, target', ER_SWEEP)
def test_expansion_ratio_sweep_matches_table_2(config, target):
    ratio, c, depths = config
    with torch.device('meta'):
        model = Classifier(ConvNeSt(arch=dict(depths=depths, dims=(c, 2 * c, 4 * c, 8 * c)), expansion_ratio=ratio,
                                    gap_before_final_norm=True))
    macs = count_macs(model, inputs=torch.zeros(1, 3, 224, 224, device='meta')) / 1e9
    assert abs(count_params(model) / 1e6 - target[0]) <= 0.55 and abs(macs - target[1]) <= 0.05 + 1e-9


def test_meta_count_equals_real_count():
    torch.manual_seed(0)
    real = Classifier(ConvNeSt(arch='A', gap_before_final_norm=True))
    meta = _classifier_on_meta(ConvNeSt, 'A')
    assert count_params(real) == count_params(meta)
    assert count_macs(real, (1, 3, 64, 64)) == count_macs(meta, inputs=torch.zeros(1, 3, 64, 64, device='meta'))


def _reference_block(block, x):
    """The block of §2 (Fig. 2) written with functional ops, independently of the module's forward."""
    h = F.gelu(F.conv2d(x, block.pwconv1.weight, block.pwconv1.bias))
    ln1 = F.layer_norm(h.permute(0, 2, 3, 1), (h.shape[1],), block.norm1.weight, block.norm1.bias, 1e-6)
    k = block.dwconv.kernel_size[0]
    h = h + F.conv2d(ln1.permute(0, 3, 1, 2), block.dwconv.weight, block.dwconv.bias, padding=k // 2,
                     groups=h.shape[1])
    y = F.conv2d(F.gelu(h), block.pwconv2.weight, block.pwconv2.bias)
    y = F.layer_norm(y.permute(0, 2, 3, 1), (y.shape[1],), block.norm2.weight, block.norm2.bias, 1e-6)
    return x * block.res_scale.view(1, -1, 1, 1) + y.permute(0, 3, 1, 2)


def test_block_dataflow_matches_the_paper():
    torch.manual_seed(0)
    block = ConvNeStBlock(4, kernel_size=7, expansion_ratio=12, conv_impl='native').double().eval()
    with torch.no_grad():
        for p in block.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    assert block.pwconv1.out_channels == 48 and block.dwconv.groups == 48 and block.dwconv.kernel_size == (7, 7)
    x = torch.randn(2, 4, 9, 11, dtype=torch.float64)
    torch.testing.assert_close(block(x), _reference_block(block, x), rtol=1e-12, atol=1e-12)


def test_res_scale_sits_on_the_outer_shortcut():
    block = ConvNeStBlock(4, expansion_ratio=2).eval()
    with torch.no_grad():
        block.norm2.weight.zero_()  # residual branch output is now norm2.bias
        block.norm2.bias.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        block.res_scale.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
    x = torch.randn(1, 4, 5, 5)
    expected = x * block.res_scale.view(1, -1, 1, 1) + block.norm2.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(block(x), expected)


def test_res_scale_per_stage_and_disabled():
    model = ConvNeSt(arch=dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32)), res_scale_init_value=(None, None, 1.0, 0.5))
    assert [blk.res_scale is None for stage in model.stages for blk in stage] == [True, True, False, False, False]
    assert torch.equal(model.stages[3][0].res_scale.data, torch.full((32,), 0.5))
    plain = ConvNeStIsotropic(arch=dict(depth=2, dim=8), res_scale_init_value=None)
    assert all(blk.res_scale is None for blk in plain.stages)
    with pytest.raises(ValueError, match='one entry per stage'):
        ConvNeSt(arch='A', res_scale_init_value=(1.0, 1.0))


def test_hierarchical_outputs_strides_and_channels():
    model = ConvNeSt(arch='A', out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.randn(1, 3, 32, 64))
    assert [tuple(o.shape) for o in outs] == [(1, c, 32 // s, 64 // s) for c, s in zip((20, 40, 80, 160),
                                                                                         (4, 8, 16, 32))]
    assert [type(getattr(model, f'norm{i}')).__name__ for i in range(4)] == ['LayerNorm2d'] * 4
    assert len(model.stages[2]) == 9 and model.stages[0][0].dwconv.kernel_size == (7, 7)


def test_isotropic_outputs_index_blocks():
    model = ConvNeStIsotropic(arch='A', out_indices=(0, 6, -1)).eval()
    assert model.num_stages == 13 and model.out_indices == (0, 6, 12)
    x = torch.randn(1, 3, 64, 48)
    outs = model(x)
    assert [tuple(o.shape) for o in outs] == [(1, 88, 4, 3)] * 3
    # outputs are taken after the indexed blocks, then normalised by norm{i}
    h = model.downsample_layers[0](x)
    for i in range(7):
        h = model.stages[i](h)
    torch.testing.assert_close(outs[1], model.norm6(h))
    with pytest.raises(ValueError, match='out_indices'):
        ConvNeStIsotropic(arch='A', out_indices=(13,))


@pytest.mark.parametrize('cls', [ConvNeSt, ConvNeStIsotropic])
def test_classification_mode_is_gap_then_ln(cls):
    torch.manual_seed(0)
    arch = dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32)) if cls is ConvNeSt else dict(depth=3, dim=16)
    dense = cls(arch=arch, out_indices=(-1,)).eval()
    cls_mode = cls(arch=arch, out_indices=(-1,), gap_before_final_norm=True).eval()
    cls_mode.load_state_dict(dense.state_dict())
    x = torch.randn(2, 3, 64, 64)
    norm = getattr(dense, f'norm{dense.num_stages - 1}')
    no_norm = cls(arch=arch, out_indices=(-1,), out_norms=False).eval()
    no_norm.load_state_dict({k: v for k, v in dense.state_dict().items() if not k.startswith('norm')})
    feat = no_norm(x)[0]
    torch.testing.assert_close(cls_mode(x)[0], norm(feat.mean((2, 3))))
    torch.testing.assert_close(dense(x)[0], norm(feat))


def test_deploy_is_the_same_structure():
    torch.manual_seed(0)
    arch = dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32))
    train, deploy = ConvNeSt(arch=arch).eval(), ConvNeSt(arch=arch, deploy=True).eval()
    assert {k: v.shape for k, v in train.state_dict().items()} == {k: v.shape for k, v in deploy.state_dict().items()}
    deploy.load_state_dict(train.state_dict())
    x = torch.randn(1, 3, 64, 64)
    before = train(x)[0]
    train.switch_to_deploy()
    assert train.deploy and set(train.state_dict()) == set(deploy.state_dict())
    torch.testing.assert_close(train(x)[0], before, rtol=0, atol=0)
    torch.testing.assert_close(deploy(x)[0], before, rtol=0, atol=0)


def test_drop_path_rates_rise_linearly():
    with torch.device('meta'):
        model = ConvNeSt(arch='A', drop_path_rate=0.3)
    rates = [0.0 if isinstance(b.drop_path, nn.Identity) else b.drop_path.drop_prob for s in model.stages for b in s]
    assert len(rates) == 15 and rates[0] == 0.0 and rates[-1] == pytest.approx(0.3)
    assert all(b > a for a, b in zip(rates, rates[1:]))


@pytest.mark.parametrize('cls, arch, frozen', [(ConvNeSt, 'A', 2), (ConvNeStIsotropic, dict(depth=4, dim=16), 3)])
def test_frozen_stages(cls, arch, frozen):
    model = cls(arch=arch, frozen_stages=frozen, drop_path_rate=0.5, out_indices=tuple(range(frozen)))
    model.train()
    for i in range(model.num_stages):
        modules = [model.downsample_layers[i], model.stages[i]] + ([getattr(model, f'norm{i}')] if i < frozen else [])
        params = [p for m in modules for p in m.parameters()]
        assert all(p.requires_grad == (i >= frozen) for p in params), i
        assert all(m.training == (i >= frozen) for mod in modules for m in mod.modules()), i
    with pytest.raises(ValueError, match='frozen_stages'):
        cls(arch=arch, frozen_stages=model.num_stages + 1)


@pytest.mark.parametrize('cls', [ConvNeSt, ConvNeStIsotropic])
def test_norm_eval_is_refused(cls):
    with pytest.raises(ValueError, match='no BatchNorm'):
        cls(arch='A', norm_eval=True)


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    arch = dict(depths=(1, 1, 1, 1), dims=(8, 8, 8, 8))
    plain, cp = ConvNeSt(arch=arch), ConvNeSt(arch=arch, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    for model in (plain, cp):
        model(x)[0].square().sum().backward()
    for (name, a), b in zip(plain.named_parameters(), cp.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_layer_id():
    with torch.device('meta'):
        model, iso = ConvNeSt(arch='A'), ConvNeStIsotropic(arch='A')
    assert model.layer_id('downsample_layers.0.0.weight', 6) == 0
    assert model.layer_id('stages.0.1.pwconv1.weight', 6) == 1
    assert model.layer_id('stages.2.7.dwconv.weight', 6) == 5
    assert model.layer_id('stages.3.0.res_scale', 6) == 6
    assert model.layer_id('norm3.weight', 6) == 7
    assert iso.layer_id('downsample_layers.0.weight', 13) == 0
    assert iso.layer_id('stages.0.norm1.weight', 13) == 1
    assert iso.layer_id('stages.12.pwconv2.bias', 13) == 13
    assert iso.layer_id('norm12.weight', 13) == 14
    with pytest.raises(ValueError, match='num_layers=12'):
        iso.layer_id('stages.0.norm1.weight', 12)


def test_pretrained_init_cfg_round_trip(tmp_path):
    torch.manual_seed(0)
    src = ConvNeStIsotropic(arch=dict(depth=2, dim=16))
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, path)
    dst = ConvNeStIsotropic(arch=dict(depth=2, dim=16),
                            init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    wrong = ConvNeStIsotropic(arch=dict(depth=2, dim=16), expansion_ratio=4,
                              init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    with pytest.raises(RuntimeError, match='shape mismatches'):
        wrong.init_weights()


def test_registry_build():
    with torch.device('meta'):
        model = MODELS.build(dict(type='largekernel.ConvNeSt', arch='f'))
        iso = MODELS.build(dict(type='largekernel.ConvNeStIsotropic', arch='N'))
    assert isinstance(model, ConvNeSt) and model.channels == (24, 48, 96, 192)
    assert isinstance(iso, ConvNeStIsotropic) and iso.channels == (156,) * 15


@pytest.mark.parametrize('cls, kwargs, match', [
    (ConvNeSt, dict(arch='Z'), "unknown arch 'Z'"),
    (ConvNeStIsotropic, dict(arch='XL'), "unknown arch 'XL'"),
    (ConvNeSt, dict(arch=dict(depths=(2, 2), dims=(8, 16, 32))), 'differ in length'),
    (ConvNeSt, dict(arch=dict(depths=(2, 0, 2, 2), dims=(8, 16, 32, 64))), r'depths .* \(2, 0, 2, 2\)'),
    (ConvNeSt, dict(arch=dict(depths=(2, 2, 2, 2), dims=(8, -16, 32, 64))), r'dims .* \(8, -16, 32, 64\)'),
    (ConvNeSt, dict(arch=dict(depths=(2, 2, 2, 2), dims=(8, 16, 32, 64), ratio=4)), 'unknown keys'),
    (ConvNeSt, dict(arch='A', kernel_size=4), 'kernel_size .* got 4'),
    (ConvNeStIsotropic, dict(arch='A', kernel_size=0), 'kernel_size .* got 0'),
    (ConvNeSt, dict(arch='A', expansion_ratio=0), 'expansion_ratio .* got 0'),
    (ConvNeStIsotropic, dict(arch='A', expansion_ratio=2.5), 'expansion_ratio .* got 2.5'),
    (ConvNeStIsotropic, dict(arch=dict(depth=0, dim=8)), r'\(0, 8\)'),
    (ConvNeStIsotropic, dict(arch='A', patch_size=0), r'patch_size .* \(0,\)'),
    (ConvNeSt, dict(arch='A', out_indices=(4,)), 'out_indices'),
    (ConvNeSt, dict(arch='A', res_scale_init_value='one'), "got 'one'"),
    (ConvNeStIsotropic, dict(arch='A', res_scale_init_value=(1.0,)), r'one number or None .* \(1.0,\)'),
])
def test_bad_input_names_the_value(cls, kwargs, match):
    with pytest.raises((KeyError, ValueError, TypeError), match=match):
        cls(**kwargs)


@pytest.mark.slow
@pytest.mark.parametrize('cls, arch', [(ConvNeSt, 'T'), (ConvNeStIsotropic, 'S')])
def test_real_model_trains_at_224(cls, arch):
    torch.manual_seed(0)
    model = Classifier(cls(arch=arch, gap_before_final_norm=True, out_indices=(-1,), drop_path_rate=0.1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(2, 3, 224, 224), torch.tensor([1, 2])
    losses = []
    for _ in range(3):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]


# ---- ImageNet configs (paper Tables 9 and 10) ----------------------------------------------------------------------
CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs' / 'convnest'
# config stem: (backbone type, arch, drop path, warm-up epochs, EMA)
RECIPES = {
    'convnest-a_8xb128-accum4_in1k': ('ConvNeSt', 'A', 0.0, 50, False),
    'convnest-f_8xb128-accum4_in1k': ('ConvNeSt', 'F', 0.0, 50, False),
    'convnest-p_8xb128-accum4_in1k': ('ConvNeSt', 'P', 0.0, 50, False),
    'convnest-n_8xb128-accum4_in1k': ('ConvNeSt', 'N', 0.0, 50, True),
    'convnest-t_8xb128-accum4_in1k': ('ConvNeSt', 'T', 0.1, 20, True),
    'convnest-s_8xb64-accum8_in1k': ('ConvNeSt', 'S', 0.4, 20, True),
    'convnest-b_8xb64-accum8_in1k': ('ConvNeSt', 'B', 0.4, 20, True),
    'convnest-isotropic-a_8xb128-accum4_in1k': ('ConvNeStIsotropic', 'A', 0.1, 50, False),
    'convnest-isotropic-f_8xb128-accum4_in1k': ('ConvNeStIsotropic', 'F', 0.1, 50, False),
    'convnest-isotropic-p_8xb128-accum4_in1k': ('ConvNeStIsotropic', 'P', 0.1, 50, False),
    'convnest-isotropic-n_8xb128-accum4_in1k': ('ConvNeStIsotropic', 'N', 0.1, 50, False),
    'convnest-isotropic-t_8xb128-accum4_in1k': ('ConvNeStIsotropic', 'T', 0.1, 50, False),
    'convnest-isotropic-s_8xb128-accum4_in1k': ('ConvNeStIsotropic', 'S', 0.1, 50, False),
    'convnest-isotropic-b_8xb64-accum8_in1k': ('ConvNeStIsotropic', 'B', 0.4, 50, True),
}


def test_every_config_is_listed():
    # the distillation configs (nkd_*, Table 11) are checked in tests/test_distill.py
    # the downstream configs (upernet_*, ...) in tests/test_downstream_*.py
    assert sorted(p.stem for p in CONFIG_DIR.glob('convnest-*.py')) == sorted(RECIPES)


@pytest.mark.parametrize('stem', sorted(RECIPES))
def test_config_states_the_paper_recipe_and_builds(stem):
    from mmengine.config import Config
    cfg = Config.fromfile(str(CONFIG_DIR / f'{stem}.py'))
    backbone_type, arch, drop_path, warmup, ema = RECIPES[stem]
    backbone = cfg.model.backbone
    assert backbone.type == f'largekernel.{backbone_type}' and backbone.arch == arch
    assert backbone.drop_path_rate == drop_path and backbone.gap_before_final_norm
    gpus, per_gpu, accum = 8, cfg.train_dataloader.batch_size, cfg.optim_wrapper.get('accumulative_counts', 1)
    assert f'{gpus}xb{per_gpu}' in stem and gpus * per_gpu * accum == 4096
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, tuple(opt.betas)) == ('AdamW', 4e-3, 0.05, (0.9, 0.999))
    assert 'clip_grad' not in cfg.optim_wrapper and 'constructor' not in cfg.optim_wrapper  # no clipping, no LLRD
    assert cfg.train_cfg.max_epochs == 300
    assert [s.type for s in cfg.param_scheduler] == ['LinearLR', 'CosineAnnealingLR']
    assert cfg.param_scheduler[0].end == warmup and cfg.param_scheduler[1].begin == warmup
    assert cfg.model.head.loss.label_smooth_val == 0.1
    assert [(a.type, a.alpha) for a in cfg.model.train_cfg.augments] == [('Mixup', 0.8), ('CutMix', 1.0)]
    hooks = [h for h in cfg.get('custom_hooks', []) if h.type == 'EMAHook']
    assert [h.momentum for h in hooks] == ([1e-4] if ema else [])
    with torch.device('meta'):
        model = MODELS.build(dict(backbone))
    assert cfg.model.head.in_channels == model.channels[-1]
    try:
        import mmpretrain  # noqa: F401
    except ImportError:  # mmpretrain needs mmcv; the backbone was built above
        return
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    with torch.device('meta'):
        classifier = MMPRETRAIN_MODELS.build(cfg.model)
    assert isinstance(classifier.backbone, (ConvNeSt, ConvNeStIsotropic))
