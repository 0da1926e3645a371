"""UniRepLKNet: re-parameterisation equivalence, fidelity to the paper's tables, the shared backbone API."""
import pytest
import torch
from torch import nn

from largekernel.models import UniRepLKNet
from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.models.backbones.unireplknet import DRB_BRANCHES, DilatedReparamBlock
from largekernel.utils import count_macs, count_params
from largekernel.utils.model_index import list_models

# The published ImageNet-1k classifiers (configs/unireplknet/metafile.yml; deploy form, 1000-class head)
PUBLISHED = [e for e in list_models(backbone='UniRepLKNet') if e.params is not None
             and e.training_data[-1] == 'ImageNet-1k']
PAPER_PARAMS = {e.arch: e.target('Parameters') / 1e6 for e in PUBLISHED}
PAPER_MACS = {(e.arch, e.input_size): e.target('FLOPs') / 1e9 for e in PUBLISHED if e.flops is not None}


def perturb(model, seed=0):
    """Non-trivial BN statistics, GRN gamma/beta and layer scales, so that every folding step matters."""
    g = torch.Generator().manual_seed(seed)
    randomize_bn_stats(model, g)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(('grn.gamma', 'grn.beta', '.gamma')):
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3 + (0.5 if name.endswith('gamma')
                                                                                  and 'grn' not in name else 0))
    return model


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def tiny_arch(kernel):
    return dict(depths=(1, 2), dims=(16, 32), kernel_sizes=((3,), (kernel, 3)))


@pytest.mark.parametrize('kernel', sorted(DRB_BRANCHES))
def test_drb_merge_is_exact(kernel):
    torch.manual_seed(kernel)
    drb = DilatedReparamBlock(8, kernel).double()
    perturb(drb, kernel).eval()
    x = torch.randn(2, 8, 2 * kernel + 3, kernel + 4, dtype=torch.float64)
    before = drb(x)
    drb.reparameterize()
    assert [n for n, _ in drb.named_children()] == ['lk_origin']
    assert rel_err(drb(x), before) <= 1e-10


@pytest.mark.parametrize('kernel', [3, 5, 7, 9, 11, 13, 15, 17])
def test_deploy_equals_training_form(kernel):
    torch.manual_seed(0)
    model = UniRepLKNet(tiny_arch(kernel), out_indices=(0, 1), layer_scale_init_value=0.5).double()
    perturb(model).eval()
    x = torch.randn(2, 3, 37, 45, dtype=torch.float64)  # odd sizes: the stride-2 convs round up
    before = model(x)
    model.switch_to_deploy()
    after = model(x)
    for a, b in zip(after, before):
        assert rel_err(a, b) <= 1e-10
    # the in-place result is exactly the deploy=True structure
    deployed = UniRepLKNet(tiny_arch(kernel), out_indices=(0, 1), deploy=True).double()
    assert {k: v.shape for k, v in deployed.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    deployed.load_state_dict(model.state_dict())
    for a, b in zip(deployed.eval()(x), before):
        assert rel_err(a, b) <= 1e-10


def test_switch_to_deploy_is_idempotent():
    model = UniRepLKNet('A').eval()
    model.switch_to_deploy()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.switch_to_deploy()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def build_classifier_shape(arch, deploy=True):
    with torch.device('meta'):
        backbone = UniRepLKNet(arch, deploy=deploy, gap_before_final_norm=True)
        head = nn.Linear(backbone.channels[-1], 1000)
    return backbone, head


@pytest.mark.parametrize('arch', list(PAPER_PARAMS))
def test_params_match_paper(arch):
    backbone, head = build_classifier_shape(arch)
    params = (count_params(backbone) + count_params(head)) / 1e6
    assert params == pytest.approx(PAPER_PARAMS[arch], rel=3e-3)


@pytest.mark.parametrize('arch, size', list(PAPER_MACS))
def test_macs_match_paper(arch, size):
    backbone, head = build_classifier_shape(arch)
    macs = (count_macs(backbone, inputs=torch.zeros(1, 3, size, size, device='meta')) + head.weight.numel()) / 1e9
    assert macs == pytest.approx(PAPER_MACS[arch, size], rel=2e-2)


def test_training_form_counts_more_params_than_deploy():
    train, _ = build_classifier_shape('T', deploy=False)
    deploy, _ = build_classifier_shape('T', deploy=True)
    assert count_params(train) > count_params(deploy)


def test_outputs_strides_and_norms():
    model = UniRepLKNet('A', out_indices=(0, 1, 2, 3), out_norms=True).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape for o in outs] == [(1, 40, 16, 16), (1, 80, 8, 8), (1, 160, 4, 4), (1, 320, 2, 2)]
    assert all(hasattr(model, f'norm{i}') for i in range(4))
    cls = UniRepLKNet('A', gap_before_final_norm=True).eval()
    (pooled,) = cls(torch.randn(2, 3, 64, 64))
    assert pooled.shape == (2, 320)
    assert torch.allclose(pooled.mean(1), torch.zeros(2), atol=1e-5)  # LayerNorm over channels


def test_in_channels_for_other_modalities():
    model = UniRepLKNet('A', in_channels=1)
    assert model.downsample_layers[0][0].in_channels == 1
    assert model(torch.randn(1, 1, 32, 48))[0].shape == (1, 320, 1, 2)


def test_frozen_stages_and_norm_eval():
    model = UniRepLKNet('A', out_indices=(0, 1, 2, 3), frozen_stages=2, norm_eval=True)
    model.train()
    for i in range(2):
        assert not any(p.requires_grad for p in model.stages[i].parameters())
        assert not any(p.requires_grad for p in model.downsample_layers[i].parameters())
        assert not model.stages[i].training
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    before = model.stages[0][0].norm.running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    assert torch.equal(before, model.stages[0][0].norm.running_mean)


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = UniRepLKNet('A', drop_path_rate=0.0)
    ckpt = UniRepLKNet('A', with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    for model in (plain, ckpt):
        model.eval()
        model(x)[0].square().sum().backward()
    for (name, a), (_, b) in zip(plain.named_parameters(), ckpt.named_parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-6), name


def test_drop_path_rates_rise_linearly():
    model = UniRepLKNet('T', drop_path_rate=0.2)
    rates = [b.drop_path.drop_prob if hasattr(b.drop_path, 'drop_prob') else 0.0 for s in model.stages for b in s]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.2) and len(rates) == 27
    assert all(b > a for a, b in zip(rates, rates[1:]))


def test_default_kernel_patterns():
    t = UniRepLKNet('T')
    assert t.kernel_sizes[2] == (13, 3) * 9
    s = UniRepLKNet('S', deploy=True)
    assert s.kernel_sizes[2] == (13, 3, 3) * 9
    assert s.kernel_sizes[0] == (3, 3, 3) and s.kernel_sizes[3] == (13, 13, 13)


@pytest.mark.parametrize('arch, match', [
    ('Z', "unknown arch 'Z'"),
    (dict(depths=(2, 2), dims=(8, 16)), 'no default kernel sizes'),
    (dict(depths=(1,), dims=(8,), kernel_sizes=((8,),)), 'unsupported kernel size 8'),
    (dict(depths=(1,), dims=(8,), kernel_sizes=((3, 3),)), 'do not match depths'),
    (dict(depths=(1,), dims=(8,), widths=3), "unknown keys \\['widths'\\]"),
])
def test_bad_arch_is_named(arch, match):
    with pytest.raises((KeyError, ValueError), match=match):
        UniRepLKNet(arch)


def test_bad_api_values_are_named():
    with pytest.raises(ValueError, match='out_indices'):
        UniRepLKNet('A', out_indices=(4,))
    with pytest.raises(ValueError, match='frozen_stages=5'):
        UniRepLKNet('A', frozen_stages=5)
    with pytest.raises(KeyError, match='GN'):
        UniRepLKNet('A', norm_cfg=dict(type='GN'))


def test_init_cfg_pretrained_strips_prefix(tmp_path):
    source = UniRepLKNet('A', gap_before_final_norm=True)
    path = tmp_path / 'cls.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    dense = UniRepLKNet('A', out_indices=(0, 1, 2, 3),
                        init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    dense.init_weights()
    for k, v in source.state_dict().items():
        assert torch.equal(dense.state_dict()[k], v), k


def test_checkpoint_of_another_arch_is_refused(tmp_path):
    path = tmp_path / 'f.pth'
    torch.save({'state_dict': UniRepLKNet('F').state_dict()}, path)
    model = UniRepLKNet('A', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(RuntimeError, match=r'does not match this UniRepLKNet.*shape mismatches'):
        model.init_weights()
    deploy_path = tmp_path / 'deploy.pth'
    torch.save(UniRepLKNet('A', deploy=True).state_dict(), deploy_path)
    model = UniRepLKNet('A', init_cfg=dict(type='Pretrained', checkpoint=str(deploy_path)))
    with pytest.raises(RuntimeError, match='training form'):
        model.init_weights()
    with pytest.raises(ValueError, match='init_cfg.checkpoint=PATH'):
        UniRepLKNet('A', init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')).init_weights()
    with pytest.raises(KeyError, match='strict'):
        UniRepLKNet('A', init_cfg=dict(type='Pretrained', checkpoint=str(path), strict=False)).init_weights()
