"""The backbone contract (``LargeKernelBackbone``), checked the same way on all seven backbones with small archs."""
import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from largekernel.models import ConvNeSt, ConvNeStIsotropic, RepLKNet, ShiftWise, SLaK, UniConvNet, UniRepLKNet
from largekernel.models.backbones.base import LargeKernelBackbone, randomize_bn_stats

# name -> (class, small arch, extra keyword arguments); all run on a 32 x 32 input
BACKBONES = {
    'UniRepLKNet': (UniRepLKNet, dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32),
                                      kernel_sizes=((3,), (7,), (5,), (9,))), {}),
    'RepLKNet': (RepLKNet, dict(large_kernel_sizes=(7, 7, 5, 5), layers=(1, 1, 1, 1), channels=(8, 16, 24, 32),
                                small_kernel=3), {}),
    'SLaK': (SLaK, dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32), width_factor=1.0),
             dict(kernel_sizes=(7, 7, 5, 5), small_kernel=3)),
    'ShiftWise': (ShiftWise, dict(depths=(1, 1, 1, 1), dims=(10, 12, 16, 20)), dict(kernel_sizes=(13, 11, 9, 7))),
    'UniConvNet': (UniConvNet, dict(depths=(1, 1, 1, 1), dims=(16, 16, 32, 32), dcn_group_channels=8), {}),
    'ConvNeSt': (ConvNeSt, dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32)), dict(expansion_ratio=2)),
    'ConvNeStIsotropic': (ConvNeStIsotropic, dict(depth=3, dim=16), dict(patch_size=8, expansion_ratio=2)),
}
NAMES = list(BACKBONES)
WITH_BN = ['UniRepLKNet', 'RepLKNet', 'SLaK', 'ShiftWise']
REPARAMETERISABLE = WITH_BN


pytestmark = pytest.mark.usefixtures('single_thread')


def build(name, seed=0, **kwargs):
    cls, arch, extra = BACKBONES[name]
    torch.manual_seed(seed)
    return cls(arch, **{**extra, **kwargs})


def perturb(model, seed=0):
    """Random BN statistics and every parameter moved off its initial value (layer scales, GRN, DCN offsets, ...)."""
    g = torch.Generator().manual_seed(seed)
    randomize_bn_stats(model, g)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.1)
    return model


def images(seed=0, n=2, dtype=torch.float32):
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize('name', NAMES)
def test_contract_attributes(name):
    model = build(name)
    assert isinstance(model, LargeKernelBackbone)
    assert len(model.channels) == len(model.downsample_layers) == len(model.stages) == model.num_stages
    assert model.deploy is False and model.channels_last == (False if name.startswith('ConvNeSt') else 'auto')


@pytest.mark.parametrize('name', NAMES)
def test_options_are_keyword_only(name):
    cls, arch, _ = BACKBONES[name]
    with pytest.raises(TypeError, match='positional'):
        cls(arch, 3)


@pytest.mark.parametrize('name', NAMES)
def test_out_indices_incl_negative(name):
    n = build(name).num_stages
    model = build(name, out_indices=tuple(range(n)), out_norms=False).eval()
    x = images()
    with torch.no_grad():
        every = model(x)
    assert [o.shape[1] for o in every] == list(model.channels)
    negative = build(name, out_indices=(0, -1), out_norms=False).eval()
    assert negative.out_indices == (0, n - 1)
    with torch.no_grad():
        first, last = negative(x)
    assert torch.equal(first, every[0]) and torch.equal(last, every[-1])
    with pytest.raises(ValueError, match=rf'out_indices \({n},\)'):
        build(name, out_indices=(n,))
    with pytest.raises(ValueError, match=rf'out_indices \({-1},\)'):
        build(name, out_indices=(-n - 1,))


@pytest.mark.parametrize('name', NAMES)
def test_out_norms_normalise_each_output(name):
    n = build(name).num_stages
    plain = perturb(build(name, out_indices=(0, n - 1), out_norms=False)).eval()
    normed = build(name, out_indices=(0, n - 1), out_norms=True).eval()
    assert not hasattr(plain, 'norm0') and {f'norm{i}' for i in (0, n - 1)} <= set(dict(normed.named_children()))
    missing, unexpected = normed.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith(('norm0.', f'norm{n - 1}.')) for k in missing)
    x = images()
    with torch.no_grad():
        for i, raw, out in zip((0, n - 1), plain(x), normed(x)):
            assert torch.equal(out, getattr(normed, f'norm{i}')(raw))


@pytest.mark.parametrize('name', NAMES)
def test_gap_before_final_norm(name):
    if name == 'RepLKNet':  # the head BN acts before pooling
        with pytest.raises(ValueError, match='GlobalAveragePooling'):
            build(name, gap_before_final_norm=True)
        return
    model = build(name, gap_before_final_norm=True, out_norms=True).eval()
    with torch.no_grad():
        (pooled,) = model(images())
    assert pooled.shape == (2, model.channels[-1])
    assert torch.allclose(pooled.mean(1), torch.zeros(2), atol=1e-5)  # LayerNorm over the channels


@pytest.mark.parametrize('name', NAMES)
def test_frozen_stages(name):
    k = 2
    model = build(name, out_indices=(0, -1), out_norms=True, frozen_stages=k).train()
    for i in range(model.num_stages):
        frozen = i < k
        norm = [getattr(model, f'norm{i}')] if hasattr(model, f'norm{i}') else []
        for part in [model.downsample_layers[i], model.stages[i]] + norm:
            params = list(part.parameters())
            assert all(p.requires_grad != frozen for p in params), (i, frozen)
            assert all(m.training != frozen for m in part.modules()), (i, frozen)
    with pytest.raises(ValueError, match=rf'frozen_stages={model.num_stages + 1}'):
        build(name, frozen_stages=model.num_stages + 1)


@pytest.mark.parametrize('name', NAMES)
def test_norm_eval(name):
    if name not in WITH_BN:
        with pytest.raises(ValueError, match='no BatchNorm'):
            build(name, norm_eval=True)
        return
    model = build(name, norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    assert all(m.training for m in model.modules() if not isinstance(m, _BatchNorm))
    stats = [m.running_mean.clone() for m in bns]
    model(images())
    assert all(torch.equal(s, m.running_mean) for s, m in zip(stats, bns))


@pytest.mark.parametrize('name', NAMES)
def test_with_cp_same_outputs_and_gradients(name):
    plain = perturb(build(name)).double().eval()
    ckpt = build(name, with_cp=True).double().eval()
    ckpt.load_state_dict(plain.state_dict())
    for model in (plain, ckpt):
        x = images(dtype=torch.float64).requires_grad_()
        model(x)[0].square().sum().backward()
        model.input_grad = x.grad
    assert torch.allclose(ckpt.input_grad, plain.input_grad, rtol=1e-10, atol=1e-12)
    for (key, a), (_, b) in zip(plain.named_parameters(), ckpt.named_parameters()):
        assert torch.allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12), key


@pytest.mark.parametrize('name', NAMES)
def test_channels_last_same_outputs(name):
    n = build(name).num_stages
    plain = perturb(build(name, out_indices=tuple(range(n)))).double().eval()
    nhwc = build(name, out_indices=tuple(range(n)), channels_last=True).double().eval()
    nhwc.load_state_dict(plain.state_dict())
    x = images(dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(nhwc(x), plain(x)):
            assert rel_err(a, b) <= 1e-10


def test_channels_last_auto_converts_cpu_inputs():
    """``'auto'`` (the default): CPU inputs run channels-last, with the NCHW outputs up to rounding; other values
    are refused."""
    n = build('RepLKNet').num_stages
    plain = perturb(build('RepLKNet', out_indices=tuple(range(n)), channels_last=False)).double().eval()
    auto = build('RepLKNet', out_indices=tuple(range(n))).double().eval()
    auto.load_state_dict(plain.state_dict())
    x = images(dtype=torch.float64)
    with torch.no_grad():
        outs, expected = auto(x), plain(x)
    first = outs[0]  # the largest map, where the two layouts differ
    assert first.is_contiguous(memory_format=torch.channels_last) and not first.is_contiguous()
    assert expected[0].is_contiguous()
    for a, b in zip(outs, expected):
        assert rel_err(a, b) <= 1e-10
    with pytest.raises(ValueError, match="channels_last must be False, True or 'auto'.*'yes'"):
        build('RepLKNet', channels_last='yes')


@pytest.mark.parametrize('name', NAMES)
def test_pretrained_init_cfg(name, tmp_path):
    source = perturb(build(name, seed=1)).eval()
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    loaded = build(name, init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    loaded.init_weights()
    loaded.eval()
    x = images()
    with torch.no_grad():
        for a, b in zip(loaded(x), source(x)):
            assert torch.equal(a, b)
    wrong = build(name, init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='model.'))
    with pytest.raises(KeyError, match="prefix 'model.'"):
        wrong.init_weights()


@pytest.mark.parametrize('name', NAMES)
def test_deploy_equals_switch_to_deploy(name):
    n = build(name).num_stages
    model = perturb(build(name, out_indices=tuple(range(n)))).double().eval()
    x = images(dtype=torch.float64)
    with torch.no_grad():
        before = model(x)
        assert model.switch_to_deploy() is model and model.deploy
        after = model(x)
    flags = [m.deploy for m in model.modules() if m is not model and hasattr(m, 'reparameterize')]
    assert all(flags) and (bool(flags) == (name in REPARAMETERISABLE))
    deployed = build(name, out_indices=tuple(range(n)), deploy=True).double()
    assert {k: v.shape for k, v in deployed.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    assert list(deployed.state_dict()) == list(model.state_dict())
    deployed.load_state_dict(model.state_dict())
    deployed.eval()
    with torch.no_grad():
        built = deployed(x)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        model.switch_to_deploy()  # idempotent
        assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    for a, b, c in zip(before, after, built):
        assert rel_err(b, a) <= 1e-10 and rel_err(c, a) <= 1e-10


@pytest.mark.parametrize('name', NAMES)
def test_bad_arch_names(name):
    cls = BACKBONES[name][0]
    with pytest.raises(KeyError, match=r"unknown arch 'nope'; valid: \["):
        cls('nope')
    with pytest.raises(KeyError, match=r"unknown keys \['bogus'\]"):
        cls(dict(BACKBONES[name][1], bogus=1))
    with pytest.raises(TypeError, match='arch must be a name or a dict'):
        cls(3)


@pytest.mark.parametrize('name', [n for n in NAMES if n != 'ConvNeStIsotropic'])
def test_stage_lengths_must_agree(name):
    arch = dict(BACKBONES[name][1])
    key = 'layers' if name == 'RepLKNet' else 'depths'
    arch[key] = arch[key][:3]
    if name == 'UniRepLKNet':
        arch['kernel_sizes'] = arch['kernel_sizes'][:3]
    cls, _, extra = BACKBONES[name]
    with pytest.raises(ValueError, match=rf'{key} \(1, 1, 1\) \(3\).*differ in length'):
        cls(arch, **extra)


def test_finish_init_names_the_lengths():
    class Broken(LargeKernelBackbone):
        def __init__(self):
            super().__init__(num_stages=2)
            self.channels = (4, 8)
            self.downsample_layers = nn.ModuleList([nn.Conv2d(3, 4, 2, 2)])
            self.stages = nn.ModuleList([nn.Identity(), nn.Identity()])
            self._finish_init()

    with pytest.raises(ValueError, match=r'num_stages=2 but len\(channels\)=2, len\(downsample_layers\)=1, '
                                         r'len\(stages\)=2'):
        Broken()
