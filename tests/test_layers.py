"""The shared layers: kernel algebra, norms, stochastic depth, layer scale, stems and downsampling."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from largekernel.models.backbones.base import randomize_bn_stats, trunc_normal_init
from largekernel.models.layers import (GRN, ConvBN, DropPath, LayerNorm2d, build_downsample_layers, build_stages,
                                       conv_from_kernel, conv_norm_downsample, conv_stem, dilated_to_dense,
                                       drop_path_rates, fold_linear_bn, fuse_bn, layer_scale, norm_conv_downsample,
                                       pad_kernel, patchify_stem, scale_channels)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float64)


# -- kernel algebra -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('bias', [False, True])
def test_fuse_bn_equals_conv_then_bn(bias):
    conv = nn.Conv2d(4, 6, 3, padding=1, bias=bias).double()
    bn = nn.BatchNorm2d(6).double()
    randomize_bn_stats(bn, gen(1))
    bn.eval()
    x = rand(2, 4, 7, 5)
    weight, b = fuse_bn(conv.weight, conv.bias, bn)
    with torch.no_grad():
        assert torch.allclose(F.conv2d(x, weight, b, padding=1), bn(conv(x)), rtol=1e-12, atol=1e-12)


def test_pad_kernel_centres_and_rejects_odd_differences():
    k = rand(2, 1, 3, 5)
    padded = pad_kernel(k, (7, 9))
    assert padded.shape == (2, 1, 7, 9) and torch.equal(padded[..., 2:5, 2:7], k)
    assert torch.count_nonzero(padded) == torch.count_nonzero(k)
    x = rand(1, 2, 11, 13)
    assert torch.allclose(F.conv2d(x, padded, padding=(3, 4), groups=2), F.conv2d(x, k, padding=(1, 2), groups=2))
    with pytest.raises(ValueError, match=r'cannot centre a \(3, 5\) kernel inside \(6, 9\)'):
        pad_kernel(k, (6, 9))
    with pytest.raises(ValueError, match='cannot centre'):
        pad_kernel(k, 3)


@pytest.mark.parametrize('k, r', [(3, 2), (5, 3), (3, 1)])
def test_dilated_to_dense_equals_dilated_conv(k, r):
    kernel = rand(3, 1, k, k)
    dense = dilated_to_dense(kernel, r)
    assert dense.shape[-1] == r * (k - 1) + 1
    x = rand(2, 3, 15, 12, seed=1)
    pad = r * (k - 1) // 2
    expected = F.conv2d(x, kernel, padding=pad, dilation=r, groups=3)
    assert torch.allclose(F.conv2d(x, dense, padding=pad, groups=3), expected, rtol=1e-12, atol=1e-12)


def test_fold_linear_bn_equals_scaled_bn_of_linear():
    linear = nn.Linear(5, 4, bias=False).double()
    bn = nn.BatchNorm2d(4).double()
    randomize_bn_stats(bn, gen(2))
    bn.eval()
    scale, input_bias = rand(4, seed=3), rand(5, seed=4)
    z = rand(2, 3, 3, 5, seed=5)  # NHWC
    folded = fold_linear_bn(linear, bn, scale, input_bias)
    with torch.no_grad():
        expected = bn(linear(z + input_bias).permute(0, 3, 1, 2)).permute(0, 2, 3, 1) * scale
        assert torch.allclose(folded(z), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('conv', [nn.Conv2d(4, 4, (7, 3), padding=(3, 1), groups=4, bias=False),
                                  nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2)])
def test_conv_from_kernel_keeps_the_geometry(conv):
    conv = conv.double()
    weight, bias = rand(*conv.weight.shape, seed=6), rand(conv.out_channels, seed=7)
    new = conv_from_kernel(weight, bias, like=conv)
    assert type(new) is nn.Conv2d and new is not conv
    for attr in ('stride', 'padding', 'dilation', 'groups', 'kernel_size', 'in_channels', 'out_channels'):
        assert getattr(new, attr) == getattr(conv, attr), attr
    assert new.weight.dtype == torch.float64 and torch.equal(new.weight, weight) and torch.equal(new.bias, bias)
    x = rand(1, 4, 9, 9, seed=8)
    with torch.no_grad():
        assert torch.equal(new(x), F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups))
    assert conv_from_kernel(weight, like=conv).bias is None


def test_conv_bn_deploy_flag_and_reparameterize():
    torch.manual_seed(0)
    unit = ConvBN(4, 6, 3, stride=2, act=nn.ReLU()).double()
    randomize_bn_stats(unit, gen(9))
    unit.eval()
    assert unit.deploy is False and [n for n, _ in unit.named_children()] == ['conv', 'bn', 'nonlinear']
    x = rand(2, 4, 9, 9, seed=10)
    with torch.no_grad():
        before = unit(x)
        unit.reparameterize()
        assert unit.deploy and isinstance(unit.bn, nn.Identity) and unit.conv.bias is not None
        assert torch.allclose(unit(x), before, rtol=1e-12, atol=1e-12)
        state = {k: v.clone() for k, v in unit.state_dict().items()}
        unit.reparameterize()  # already merged: nothing changes
    assert all(torch.equal(v, unit.state_dict()[k]) for k, v in state.items())
    built = ConvBN(4, 6, 3, stride=2, act=nn.ReLU(), deploy=True)
    assert built.deploy and set(built.state_dict()) == set(unit.state_dict()) == {'conv.weight', 'conv.bias'}
    with pytest.raises(ValueError, match='bias-free'):
        ConvBN(4, 4, 3, conv=nn.Conv2d(4, 4, 3, padding=1))


# -- norms ----------------------------------------------------------------------------------------------------------
def test_layer_norm_2d_equals_layer_norm_on_nhwc_and_pooled():
    norm = LayerNorm2d(6).double()
    with torch.no_grad():
        norm.weight.copy_(rand(6, seed=11))
        norm.bias.copy_(rand(6, seed=12))
    x = rand(2, 6, 4, 5, seed=13)
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (6,), norm.weight, norm.bias, 1e-6).permute(0, 3, 1, 2)
    assert torch.allclose(norm(x), expected, rtol=1e-12, atol=1e-12)
    pooled = x.mean((2, 3))
    assert torch.allclose(norm(pooled), F.layer_norm(pooled, (6,), norm.weight, norm.bias, 1e-6))
    timm_layers = pytest.importorskip('timm.layers')
    peer = timm_layers.LayerNorm2d(6).double()
    peer.load_state_dict(norm.state_dict())  # same keys and shapes
    assert torch.allclose(peer(x), norm(x), rtol=1e-12, atol=1e-12)


def test_grn_formula_keys_and_bias_free_form():
    grn = GRN(6).double()
    assert {k: tuple(v.shape) for k, v in grn.state_dict().items()} == {'gamma': (1, 1, 1, 6), 'beta': (1, 1, 1, 6)}
    x = rand(2, 4, 5, 6, seed=14)
    assert torch.equal(grn(x), x)  # gamma = beta = 0 at initialisation
    with torch.no_grad():
        grn.gamma.copy_(rand(1, 1, 1, 6, seed=15))
        grn.beta.copy_(rand(1, 1, 1, 6, seed=16))
    g = x.square().sum((1, 2), keepdim=True).sqrt()
    n = g / (g.mean(-1, keepdim=True) + 1e-6)
    assert torch.allclose(grn(x), grn.gamma * (x * n) + grn.beta + x, rtol=1e-12, atol=1e-12)
    timm_grn = pytest.importorskip('timm.layers.grn')
    peer = timm_grn.GlobalResponseNorm(6, eps=1e-6, channels_last=True).double()
    peer.load_state_dict({'weight': grn.gamma.flatten(), 'bias': grn.beta.flatten()})  # other keys and shapes
    assert torch.allclose(peer(x), grn(x), rtol=1e-12, atol=1e-12)
    assert set(GRN(6, use_bias=False).state_dict()) == {'gamma'}


# -- stochastic depth -------------------------------------------------------------------------------------------------
def test_drop_path_drops_whole_samples_and_rescales():
    drop = DropPath(0.25)
    x = torch.ones(4000, 3, 2, 2)
    torch.manual_seed(0)
    y = drop.train()(x)
    per_sample = y.flatten(1)
    kept = (per_sample != 0).all(1)
    assert ((per_sample == 0).all(1) | kept).all()  # all or nothing per sample
    assert torch.allclose(per_sample[kept], torch.full_like(per_sample[kept], 1 / 0.75))
    assert abs(kept.float().mean().item() - 0.75) < 0.03
    assert torch.equal(drop.eval()(x), x) and torch.equal(DropPath(0.0).train()(x), x)


def test_drop_path_rates_rise_linearly_over_all_blocks():
    rates = drop_path_rates(0.3, (2, 1, 3))
    assert [len(r) for r in rates] == [2, 1, 3]
    flat = [r for stage in rates for r in stage]
    assert flat[0] == 0.0 and flat[-1] == pytest.approx(0.3)
    assert all(b - a == pytest.approx(0.06) for a, b in zip(flat, flat[1:]))
    assert drop_path_rates(0.3, (1,)) == [[0.0]]


# -- layer scale ------------------------------------------------------------------------------------------------------
def test_layer_scale_parameter_and_scaling():
    gamma = layer_scale(4, 1e-6)
    assert isinstance(gamma, nn.Parameter) and torch.equal(gamma, torch.full((4,), 1e-6))
    assert layer_scale(4, None) is None and layer_scale(4, 0) is None
    with pytest.raises(ValueError, match='-0.5'):
        layer_scale(4, -0.5)
    scale = torch.arange(1.0, 5.0)
    x = torch.randn(2, 4, 3, 5, generator=gen(17))
    assert torch.equal(scale_channels(x, scale), x * scale.view(1, 4, 1, 1))
    nhwc = x.permute(0, 2, 3, 1)
    assert torch.equal(scale_channels(nhwc, scale, dim=-1), nhwc * scale)
    assert scale_channels(x, None) is x


# -- stems, downsampling, stages --------------------------------------------------------------------------------------
def test_stems_and_downsampling_layout():
    stem = conv_stem(3, 16)
    assert [type(m).__name__ for m in stem] == ['Conv2d', 'LayerNorm2d', 'GELU', 'Conv2d', 'LayerNorm2d']
    assert stem[0].out_channels == 8 and stem(torch.zeros(1, 3, 33, 31)).shape == (1, 16, 9, 8)
    patch = patchify_stem(3, 16, patch_size=4)
    assert patch[0].kernel_size == patch[0].stride == (4, 4) and patch(torch.zeros(1, 3, 32, 32)).shape[-1] == 8
    down = conv_norm_downsample(8, 16)
    assert (down[0].kernel_size, down[0].stride, down[0].padding) == ((3, 3), (2, 2), (1, 1))
    assert isinstance(down[1], LayerNorm2d)
    for k, pad in ((2, 0), (3, 1)):
        down = norm_conv_downsample(8, 16, kernel_size=k)
        assert isinstance(down[0], LayerNorm2d) and down[0].normalized_shape == (8,)
        assert (down[1].kernel_size, down[1].stride, down[1].padding) == ((k, k), (2, 2), (pad, pad))
    layers = build_downsample_layers(patch, (16, 24, 32), norm_conv_downsample)
    assert len(layers) == 3 and layers[0] is patch and layers[2][1].in_channels == 24


def test_build_stages_passes_indices_and_rates():
    calls = []

    def block(i, j, rate):
        calls.append((i, j, rate))
        return nn.Identity()

    stages = build_stages((2, 1), 0.5, block)
    assert [len(s) for s in stages] == [2, 1] and all(isinstance(s, nn.Sequential) for s in stages)
    assert calls == [(0, 0, 0.0), (0, 1, 0.25), (1, 0, 0.5)]


def test_trunc_normal_init_is_torchs():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(8, 4), nn.LayerNorm(4))
    torch.manual_seed(0)
    trunc_normal_init(model, std=0.5)
    torch.manual_seed(0)
    expected = [nn.init.trunc_normal_(torch.empty(8, 3, 3, 3), std=0.5),
                nn.init.trunc_normal_(torch.empty(4, 8), std=0.5)]
    assert torch.equal(model[0].weight, expected[0]) and torch.equal(model[1].weight, expected[1])
    assert not model[0].bias.any() and not model[1].bias.any()
    assert torch.equal(model[2].weight, torch.ones(4))  # norms untouched
    assert model[0].weight.abs().max() <= 2.0
