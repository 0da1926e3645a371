"""UniConvNet (ICCV 2025; supp. C): the pure-PyTorch DCNv3 against independent references, RFA and block
dataflow, fidelity of all 13 variants, the shared backbone API and bad input."""
import itertools
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from largekernel.models.backbones.uniconvnet import RFA, UniConvNet, UniConvNetBlock
from largekernel.models.layers.dcnv3 import DCNv3, dcnv3_grid_sample, dcnv3_torchvision
from largekernel.registry import MODELS
from largekernel.utils import count_macs, count_params
from largekernel.utils.model_index import find_model, list_models

# Published targets (configs/uniconvnet/metafile.yml: the official README, 1000-class head): params (M; the reference
# counts of the official model files, the README rounds to 0.1M), FLOPs (G) at 224 and 384.
_PUBLISHED = [e for e in list_models(backbone='UniConvNet') if e.params is not None
              and e.training_data[-1].startswith('ImageNet')]
PARAMS = {e.arch: e.target('Parameters') / 1e6 for e in _PUBLISHED}
FLOPS_224 = {e.arch: e.flops / 1e9 for e in _PUBLISHED if e.input_size == 224 and e.arch != 'P0'}
FLOPS_384 = {e.arch: e.flops / 1e9 for e in _PUBLISHED if e.input_size == 384}
# P0: the README's FLOPs contradict the architecture (P0 is P1 with fewer blocks, yet above P1); the target is the
# metafile's corrected count of the official P0 structure (conv/linear MACs).
P0_FLOPS_REDERIVED = find_model('UniConvNet', 'P0').target('FLOPs') / 1e9
FAST_FLOPS = ('A',)
TINY = dict(depths=(1, 1, 1, 1), dims=(16, 32, 32, 32), dcn_group_channels=8)


class Classifier(nn.Module):
    """Backbone in classification mode (GAP -> LN = the official head norm) + a 1000-class linear head."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.channels[-1], 1000)

    def forward(self, x):
        return self.head(self.backbone(x)[-1])


def _classifier(arch, device='cpu'):
    with torch.device(device):
        return Classifier(UniConvNet(arch=arch, gap_before_final_norm=True, out_indices=(3,)))


def _gmacs(model, size, device='cpu'):
    return count_macs(model, inputs=torch.zeros(1, 3, size, size, device=device)) / 1e9


# ----------------------------------------------------------------------------------------------------------------
# DCNv3 core
# ----------------------------------------------------------------------------------------------------------------
def _mask_as_kernel(mask_gp, channels, kernel_size):
    """(G, P) mask in DCNv3 point order (k = kx * K + ky) -> depth-wise conv weight (C, 1, K, K) indexed [ky, kx]."""
    groups = mask_gp.shape[0]
    weight = mask_gp.view(groups, kernel_size, kernel_size).transpose(1, 2)
    return weight.repeat_interleave(channels // groups, 0).unsqueeze(1)


@pytest.mark.parametrize('core', [dcnv3_grid_sample, dcnv3_torchvision])
@pytest.mark.parametrize('kernel_size, dilation', [(3, 1), (3, 2), (5, 1)])
def test_dcn_zero_offsets_equal_grouped_conv(core, kernel_size, dilation):
    """Zero offsets and a spatially constant mask: a depth-wise K x K conv whose taps are the mask values."""
    torch.manual_seed(0)
    n, h, w, c, g = 2, 7, 9, 12, 3
    pad = dilation * (kernel_size - 1) // 2
    points = kernel_size ** 2
    value = torch.randn(n, h, w, c, dtype=torch.float64)
    mask_gp = torch.randn(g, points, dtype=torch.float64)
    mask = mask_gp.reshape(1, 1, 1, -1).expand(n, h, w, -1).contiguous()
    offset = torch.zeros(n, h, w, g * points * 2, dtype=torch.float64)
    out = core(value, offset, mask, g, kernel_size, pad, dilation)
    ref = F.conv2d(value.permute(0, 3, 1, 2), _mask_as_kernel(mask_gp, c, kernel_size), padding=pad,
                   dilation=dilation, groups=c).permute(0, 2, 3, 1)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)


def _shift(x, dy, dx):
    """out[i, j] = x[i + dy, j + dx] (NHWC), zero outside."""
    n, h, w, c = x.shape
    pad = max(abs(dy), abs(dx))
    xp = F.pad(x, (0, 0, pad, pad, pad, pad))
    return xp[:, pad + dy:pad + dy + h, pad + dx:pad + dx + w]


@pytest.mark.parametrize('core', [dcnv3_grid_sample, dcnv3_torchvision])
def test_dcn_integer_offsets_equal_shifted_conv(core):
    """Integer offsets, constant per (group, point): a sum of shifted, mask-weighted copies of each group."""
    torch.manual_seed(1)
    n, h, w, c, g, k = 1, 6, 8, 8, 2, 3
    value = torch.randn(n, h, w, c, dtype=torch.float64)
    off_gp = torch.randint(-3, 4, (g, k * k, 2)).double()
    mask_gp = torch.randn(g, k * k, dtype=torch.float64)
    offset = off_gp.reshape(1, 1, 1, -1).expand(n, h, w, -1).contiguous()
    mask = mask_gp.reshape(1, 1, 1, -1).expand(n, h, w, -1).contiguous()
    out = core(value, offset, mask, g, k, 1, 1)
    cg = c // g
    ref = torch.zeros_like(value)
    for gi, (kx, ky) in itertools.product(range(g), itertools.product(range(k), range(k))):
        p = kx * k + ky
        dx, dy = int(off_gp[gi, p, 0]), int(off_gp[gi, p, 1])
        sl = slice(gi * cg, (gi + 1) * cg)
        ref[..., sl] += mask_gp[gi, p] * _shift(value[..., sl], ky - 1 + dy, kx - 1 + dx)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)


def _bilinear_zero(img, y, x):
    """Scalar bilinear sample of a (H, W) image at (y, x) in pixel units, zero outside."""
    h, w = img.shape
    y0, x0 = math.floor(y), math.floor(x)
    total = 0.0
    for yy, xx in ((y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)):
        if 0 <= yy < h and 0 <= xx < w:
            total += (1 - abs(y - yy)) * (1 - abs(x - xx)) * float(img[yy, xx])
    return total


def test_dcn_fractional_offsets_match_scalar_reference():
    """Random fractional offsets (also far outside the image) against a scalar loop transcribing the sampling
    equation of the official DCNv3 (point order x-major, offsets (dx, dy), zero padding, offset_scale)."""
    torch.manual_seed(2)
    n, h, w, c, g, k, d, scale = 1, 4, 5, 4, 2, 3, 2, 0.5
    value = torch.randn(n, h, w, c, dtype=torch.float64)
    offset = torch.randn(n, h, w, g * k * k * 2, dtype=torch.float64) * 3
    mask = torch.randn(n, h, w, g * k * k, dtype=torch.float64)
    out = dcnv3_grid_sample(value, offset, mask, g, k, pad=d, dilation=d, offset_scale=scale)
    off = offset.view(n, h, w, g, k * k, 2)
    msk = mask.view(n, h, w, g, k * k)
    ref = torch.zeros_like(value)
    for i, j, ch in itertools.product(range(h), range(w), range(c)):
        gi = ch // (c // g)
        for kx, ky in itertools.product(range(k), range(k)):
            p = kx * k + ky
            y = i - d + ky * d + scale * float(off[0, i, j, gi, p, 1])
            x = j - d + kx * d + scale * float(off[0, i, j, gi, p, 0])
            ref[0, i, j, ch] += float(msk[0, i, j, gi, p]) * _bilinear_zero(value[0, :, :, ch], y, x)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


def _random_core_inputs(dtype, device='cpu', n=2, h=9, w=11, c=32, g=4, requires_grad=False):
    gen = torch.Generator().manual_seed(3)
    make = lambda *shape, s=1.0: (torch.randn(*shape, generator=gen, dtype=dtype) * s).to(device)  # noqa: E731
    tensors = make(n, h, w, c), make(n, h, w, g * 18, s=2.0), make(n, h, w, g * 9)
    return [t.requires_grad_(requires_grad) for t in tensors]


def _assert_cores_agree(device, dtype, tol):
    a_inputs = _random_core_inputs(dtype, device, requires_grad=True)
    b_inputs = [t.detach().clone().requires_grad_(True) for t in a_inputs]
    out_a = dcnv3_grid_sample(*a_inputs, 4)
    out_b = dcnv3_torchvision(*b_inputs, 4)
    torch.testing.assert_close(out_a, out_b, rtol=tol, atol=tol)
    weight = torch.randn_like(out_a)
    (out_a * weight).sum().backward()
    (out_b * weight).sum().backward()
    for ta, tb, name in zip(a_inputs, b_inputs, ('value', 'offset', 'mask')):
        torch.testing.assert_close(ta.grad, tb.grad, rtol=tol * 10, atol=tol * 10, msg=f'grad of {name}')


@pytest.mark.parametrize('dtype, tol', [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_dcn_grid_sample_and_torchvision_cores_agree(dtype, tol):
    _assert_cores_agree('cpu', dtype, tol)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_dcn_cores_agree_on_cuda():
    _assert_cores_agree('cuda', torch.float32, 1e-4)
    _assert_cores_agree('cuda', torch.float64, 1e-10)


def test_dcn_matches_mmcv_modulated_deform_conv():
    """mmcv's ModulatedDeformConv2d (the DCNv2 op) with unit depth-wise weights and G deform groups, offsets
    reordered to its (ky-major, (dy, dx)) layout, is the same operator."""
    ops = pytest.importorskip('mmcv.ops')
    value, offset, mask = _random_core_inputs(torch.float32)
    n, h, w, c = value.shape
    g, k = 4, 3
    conv = ops.ModulatedDeformConv2d(c, c, k, padding=1, groups=c, deform_groups=g, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    off = offset.view(n, h, w, g, k, k, 2).flip(-1).transpose(4, 5).reshape(n, h, w, -1).permute(0, 3, 1, 2)
    msk = mask.view(n, h, w, g, k, k).transpose(4, 5).reshape(n, h, w, -1).permute(0, 3, 1, 2)
    ref = conv(value.permute(0, 3, 1, 2).contiguous(), off.contiguous(), msk.contiguous()).permute(0, 2, 3, 1)
    torch.testing.assert_close(dcnv3_grid_sample(value, offset, mask, g), ref, rtol=1e-4, atol=1e-4)


def test_dcn_module_starts_at_zero_and_mask_learns_first():
    torch.manual_seed(4)
    dcn = DCNv3(32, groups=2)
    x = torch.randn(2, 6, 6, 32)
    out = dcn(x)
    assert out.abs().max() == 0  # zero mask (no softmax) -> the branch is exactly 0 at initialisation
    out.pow(2).sum().backward()
    out = dcn(x)
    (out * torch.randn_like(out)).sum().backward()
    assert dcn.mask.weight.grad.abs().sum() > 0
    assert dcn.offset.weight.grad.abs().sum() == 0  # offsets get gradient only through a non-zero mask
    for layer in (dcn.offset, dcn.mask):
        assert layer.weight.abs().sum() == 0 and layer.bias.abs().sum() == 0
    assert dcn.input_proj.bias.abs().sum() == 0 and dcn.input_proj.weight.std() > 0


def test_dcn_module_forward_is_the_documented_composition():
    """``output_proj(core(input_proj(x), offset(dw(x)), mask(dw(x))))``: offsets/mask from the depth-wise conv of x
    (not of the projected value), with no norm, activation or softmax in between."""
    torch.manual_seed(5)
    dcn = DCNv3(16, groups=2).double()
    for p in dcn.parameters():
        nn.init.normal_(p, std=0.3)
    x = torch.randn(1, 5, 7, 16, dtype=torch.float64)
    s = F.conv2d(x.permute(0, 3, 1, 2), dcn.dw_conv.weight, dcn.dw_conv.bias, padding=1, groups=16)
    s = s.permute(0, 2, 3, 1)
    core = dcnv3_grid_sample(F.linear(x, dcn.input_proj.weight, dcn.input_proj.bias),
                             F.linear(s, dcn.offset.weight, dcn.offset.bias), F.linear(s, dcn.mask.weight,
                                                                                         dcn.mask.bias), 2)
    ref = F.linear(core, dcn.output_proj.weight, dcn.output_proj.bias)
    torch.testing.assert_close(dcn(x), ref, rtol=1e-12, atol=1e-12)
    dcn.sampling.impl = 'torchvision'
    torch.testing.assert_close(dcn(x), ref, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------------------------------------------
# RFA and block dataflow
# ----------------------------------------------------------------------------------------------------------------
def _conv(x, conv):
    return F.conv2d(x, conv.weight, conv.bias, padding=conv.padding, groups=conv.groups)


def _ln(x, norm):
    return F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), norm.weight, norm.bias, 1e-6).permute(0, 3, 1, 2)


def _reference_rfa(rfa, x):
    """The official three-layer RFA dataflow, transcribed with functional ops."""
    q = x.shape[1] // 4
    z = _ln(x, rfa.norm)
    z0, z1, z2, z3 = z[:, :q], z[:, q:2 * q], z[:, 2 * q:3 * q], z[:, 3 * q:]
    l1, l2, l3 = rfa.layers
    assert [l.context[2].kernel_size[0] for l in rfa.layers] == [7, 9, 11]
    a1 = _conv(F.gelu(_conv(z0, l1.context[0])), l1.context[2])
    m1 = _conv(a1 * _conv(z0, l1.value), l1.mix)
    t1 = _conv(_conv(z1, l1.local_proj), l1.local_dw) + a1
    y1 = torch.cat([t1, m1], 1)
    u2 = _ln(y1, l2.norm)
    a2 = _conv(F.gelu(_conv(u2, l2.context[0])), l2.context[2])
    m2 = _conv(a2 * _conv(u2, l2.value), l2.mix)
    t2 = _conv(_conv(z2, l2.local_proj), l2.local_dw) + _conv(a2, l2.reduce)
    y2 = torch.cat([t2, m2], 1)
    u3 = _ln(y2, l3.norm)
    a3 = _conv(F.gelu(_conv(u3, l3.context[0])), l3.context[2])
    m3 = _conv(a3 * _conv(u3, l3.value), l3.mix)
    t3 = _conv(_conv(z3, l3.local_proj), l3.local_dw) + _conv(a3, l3.reduce)
    return torch.cat([t3, m3], 1)


def _randomize(module):
    gen = torch.Generator().manual_seed(6)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.2 + (1.0 if p.dim() == 1 else 0.0))


def test_rfa_matches_reference_dataflow():
    torch.manual_seed(7)
    rfa = RFA(32).double()
    _randomize(rfa)
    x = torch.randn(2, 32, 12, 12, dtype=torch.float64)
    torch.testing.assert_close(rfa(x), _reference_rfa(rfa, x), rtol=1e-12, atol=1e-12)
    widths = [(l.value.in_channels, l.local_proj.in_channels) for l in rfa.layers]
    assert widths == [(8, 8), (16, 8), (24, 8)]


def test_block_is_three_prenorm_residuals_with_layer_scales():
    torch.manual_seed(8)
    block = UniConvNetBlock(32, dcn_groups=2)
    for i in range(3):
        assert torch.equal(getattr(block, f'gamma{i}'), torch.full((32,), 1e-6))
    block = block.double().eval()
    _randomize(block)
    x = torch.randn(2, 32, 8, 8, dtype=torch.float64)
    y = x + block.gamma0.view(1, -1, 1, 1) * _reference_rfa(block.rfa, x)
    y = y.permute(0, 2, 3, 1)
    y = y + block.gamma1 * block.dcn(F.layer_norm(y, (32,), block.norm1.weight, block.norm1.bias, 1e-6))
    h = F.layer_norm(y, (32,), block.norm2.weight, block.norm2.bias, 1e-6)
    y = y + block.gamma2 * F.linear(F.gelu(F.linear(h, block.ffn.fc1.weight, block.ffn.fc1.bias)),
                                    block.ffn.fc2.weight, block.ffn.fc2.bias)
    torch.testing.assert_close(block(x), y.permute(0, 3, 1, 2), rtol=1e-12, atol=1e-12)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in block.modules())


def test_block_without_layer_scale():
    block = UniConvNetBlock(16, dcn_groups=2, layer_scale_init_value=None)
    assert block.gamma0 is None and block.gamma1 is None and block.gamma2 is None
    assert block(torch.randn(1, 16, 4, 4)).shape == (1, 16, 4, 4)


def test_dcn_groups_per_variant():
    """C / 8 groups for A-P2 (models_A-P2), C / 16 from N0 up (models_N0-XL), the official model files."""
    expected = {'A': (3, 6, 12, 24), 'P1': (4, 8, 16, 32), 'N0': (3, 6, 12, 24), 'T': (4, 8, 16, 32),
                'S': (5, 10, 20, 40), 'B': (7, 14, 28, 56), 'L': (10, 20, 40, 80), 'XL': (10, 20, 40, 80)}
    for arch, groups in expected.items():
        arch_cfg = UniConvNet.arch_zoo[arch]
        assert tuple(d // arch_cfg['dcn_group_channels'] for d in arch_cfg['dims']) == groups, arch
    with torch.device('meta'):
        model = UniConvNet('N0')
    assert tuple(stage[0].dcn.groups for stage in model.stages) == expected['N0']
    assert tuple(stage[0].dcn.mask.out_features for stage in model.stages) == tuple(9 * g for g in expected['N0'])


# ----------------------------------------------------------------------------------------------------------------
# Fidelity
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('arch', list(PARAMS))
def test_params_match_readme(arch):
    params = count_params(_classifier(arch, 'meta')) / 1e6
    assert abs(params - PARAMS[arch]) / PARAMS[arch] <= 0.003, (arch, params)


@pytest.mark.parametrize('arch', FAST_FLOPS)
def test_macs_match_readme(arch):
    macs = _gmacs(_classifier(arch), 224)
    assert abs(macs - FLOPS_224[arch]) / FLOPS_224[arch] <= 0.03, (arch, macs)


def test_p0_macs_match_architecture_not_readme_typo():
    macs = _gmacs(_classifier('P0'), 224)
    assert abs(macs - P0_FLOPS_REDERIVED) / P0_FLOPS_REDERIVED <= 0.03, macs
    assert macs < FLOPS_224['P1']  # P0 = P1 minus blocks, so the README's 0.932G cannot hold


@pytest.mark.slow
@pytest.mark.parametrize('arch, size', [(a, 224) for a in FLOPS_224 if a not in FAST_FLOPS]
                         + [(a, 384) for a in FLOPS_384])
def test_macs_match_readme_slow(arch, size):
    target = (FLOPS_224 if size == 224 else FLOPS_384)[arch]
    macs = _gmacs(_classifier(arch, 'meta'), size, 'meta')
    assert abs(macs - target) / target <= 0.03, (arch, size, macs)


def test_meta_count_equals_real_count():
    torch.manual_seed(0)
    real = Classifier(UniConvNet(TINY, gap_before_final_norm=True))
    with torch.device('meta'):
        meta = Classifier(UniConvNet(TINY, gap_before_final_norm=True))
    assert count_params(real) == count_params(meta)
    assert count_macs(real, (1, 3, 64, 64)) == count_macs(meta, inputs=torch.zeros(1, 3, 64, 64, device='meta'))


# ----------------------------------------------------------------------------------------------------------------
# Backbone API
# ----------------------------------------------------------------------------------------------------------------
def test_forward_shapes_and_registry():
    model = MODELS.build(dict(type='largekernel.UniConvNet', arch=TINY, out_indices=(0, 1, 2, 3)))
    outs = model(torch.randn(2, 3, 64, 48))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 16, 12), (2, 32, 8, 6), (2, 32, 4, 3), (2, 32, 2, 2)]
    assert [o.norm(dim=1).mean().item() for o in outs] == pytest.approx([4.0, 5.66, 5.66, 5.66], rel=0.01)  # LNs
    cls = UniConvNet(TINY, gap_before_final_norm=True, out_indices=(3,))
    assert tuple(cls(torch.randn(2, 3, 32, 32))[0].shape) == (2, 32)
    with torch.device('meta'):
        assert UniConvNet('p2').depths == (3, 3, 11, 3)  # names are case-insensitive


def test_initialisation_matches_official():
    torch.manual_seed(9)
    model = UniConvNet('A')
    block = model.stages[1][0]
    assert block.dcn.mask.weight.abs().sum() == 0 and block.dcn.offset.bias.abs().sum() == 0
    assert abs(block.ffn.fc1.weight.std().item() - 0.02) < 0.003  # trunc-normal 0.02
    fan = block.dcn.input_proj.weight.shape
    assert abs(block.dcn.input_proj.weight.std().item() - math.sqrt(2 / sum(fan))) < 0.02  # Xavier
    assert torch.equal(block.gamma0, torch.full((48,), 1e-6))
    rates = [b.drop_path.drop_prob for b in UniConvNet('A', drop_path_rate=0.3).stages[3]]
    assert rates[-1] == pytest.approx(0.3)


def test_dcn_init_survives_a_parent_trunc_normal_init_cfg():
    """mmpretrain's ImageClassifier(init_cfg=TruncNormal over Conv2d/Linear) initialises the whole model before the
    backbone's init_weights; the DCN branch must still start at exactly 0 as in the official model."""
    from mmengine.model import BaseModule

    class Parent(BaseModule):
        def __init__(self):
            super().__init__(init_cfg=dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=0.02, bias=0.0))
            self.backbone = UniConvNet(TINY)

    parent = Parent()
    dcn = parent.backbone.stages[0][0].dcn
    nn.init.normal_(dcn.mask.weight)
    parent.init_weights()
    assert dcn.mask.weight.abs().sum() == 0 and dcn.offset.weight.abs().sum() == 0
    fan = dcn.output_proj.weight.shape
    assert abs(dcn.output_proj.weight.std().item() - math.sqrt(2 / sum(fan))) < 0.05  # Xavier, not 0.02
    assert abs(parent.backbone.stages[0][0].ffn.fc1.weight.std().item() - 0.02) < 0.005


def test_deploy_is_accepted_and_changes_nothing():
    torch.manual_seed(10)
    model = UniConvNet(TINY, out_indices=(0, 1, 2, 3)).eval()
    deployed = UniConvNet(TINY, out_indices=(0, 1, 2, 3), deploy=True)
    assert {k: v.shape for k, v in model.state_dict().items()} == \
           {k: v.shape for k, v in deployed.state_dict().items()}
    x = torch.randn(1, 3, 32, 32)
    before = model(x)
    model.switch_to_deploy()
    assert model.deploy
    for a, b in zip(before, model(x)):
        assert torch.equal(a, b)


def test_with_cp_and_dcn_impl_give_the_same_gradients():
    torch.manual_seed(11)
    ref = UniConvNet(TINY, out_indices=(3,)).double()
    _randomize(ref)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    ref(x)[0].sum().backward()
    for kwargs in (dict(with_cp=True), dict(dcn_impl='torchvision')):  # same weights, same graph
        other = UniConvNet(TINY, out_indices=(3,), **kwargs).double()
        other.load_state_dict(ref.state_dict())
        other(x)[0].sum().backward()
        for (name, p), q in zip(ref.named_parameters(), other.parameters()):
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-9, atol=1e-12, msg=f'{kwargs}: {name}')


def test_frozen_stages():
    model = UniConvNet('A', frozen_stages=2).train()
    assert not any(p.requires_grad for p in model.downsample_layers[1].parameters())
    assert not any(p.requires_grad for p in model.stages[1].parameters())
    assert all(p.requires_grad for p in model.stages[2].parameters())


def test_layer_id_is_the_official_convnext_mapping():
    """Official ConvNeXt mapping: stem 0; downsample 1, 2 -> 2, 3; downsample 3 -> 12; stage 0 -> 1; stage 1 -> 2;
    stage 2 block b -> 3 + b // 3; stage 3 -> 12; final LN (and head) -> 13; num_layers = 12."""
    with torch.device('meta'):
        model = UniConvNet('XL', gap_before_final_norm=True)
    cases = {'downsample_layers.0.0.weight': 0, 'downsample_layers.1.1.weight': 2, 'downsample_layers.2.0.bias': 3,
             'downsample_layers.3.1.weight': 12, 'stages.0.2.gamma0': 1, 'stages.1.0.dcn.offset.weight': 2,
             'stages.2.0.rfa.norm.weight': 3, 'stages.2.5.ffn.fc1.weight': 4, 'stages.2.21.gamma2': 10,
             'stages.3.2.dcn.mask.bias': 12, 'norm3.weight': 13}
    names = dict(model.named_parameters())
    for name, expected in cases.items():
        assert name in names
        assert model.layer_id(name, 12) == expected, name


def test_bad_input_is_rejected_with_clear_errors():
    with pytest.raises(KeyError, match="unknown arch 'Q9'"):
        UniConvNet('Q9')
    with pytest.raises(ValueError, match=r'dims \[42\].*divisible by 4'):
        UniConvNet(dict(depths=(1, 1), dims=(48, 42), dcn_group_channels=8))
    with pytest.raises(ValueError, match=r'dims \[36\].*dcn_group_channels=16'):
        UniConvNet(dict(depths=(1, 1), dims=(32, 36), dcn_group_channels=16))
    with pytest.raises(KeyError, match='missing keys'):
        UniConvNet(dict(depths=(1, 1), dims=(32, 64)))
    with pytest.raises(ValueError, match="unknown dcn_impl 'cuda'"):
        UniConvNet('A', dcn_impl='cuda')
    with pytest.raises(ValueError, match='channels=30 must be divisible by groups=4'):
        DCNv3(30, 4)
    with pytest.raises(ValueError, match='30 is not divisible by 4'):
        RFA(30)
    with pytest.raises(ValueError, match='offset'):
        dcnv3_grid_sample(torch.zeros(1, 4, 4, 8), torch.zeros(1, 4, 4, 17), torch.zeros(1, 4, 4, 9), 1)


# ----------------------------------------------------------------------------------------------------------------
# Configs (supp. Tables 11-12; official TRAINING.md)
# ----------------------------------------------------------------------------------------------------------------
CONFIG_DIR = Path('configs/uniconvnet')
# stem: arch, drop path, epochs, warm-up, lr, weight decay, total batch, Mixup/CutMix, erasing, EMA, layer decay,
# train size, classes
_WEAK = dict(epochs=300, warmup=20, lr=4e-3, wd=0.05, batch=4096, mix=False, erase=False, ema=True, llrd=None,
             size=224, classes=1000)
_STRONG = dict(_WEAK, mix=True, erase=True)
_FT = dict(epochs=30, warmup=0, lr=5e-5, wd=1e-8, batch=512, mix=False, erase=True, ema=False, llrd=0.7, size=384,
           classes=1000)
_22K = dict(_STRONG, epochs=90, warmup=5, ema=False, classes=21841)
RECIPES = {
    'uniconvnet-a_8xb128-accum4_in1k': dict(_WEAK, arch='A', dp=0.05),
    'uniconvnet-p0_8xb128-accum4_in1k': dict(_WEAK, arch='P0', dp=0.05),
    'uniconvnet-p1_8xb128-accum4_in1k': dict(_WEAK, arch='P1', dp=0.05),
    'uniconvnet-p2_8xb128-accum4_in1k': dict(_WEAK, arch='P2', dp=0.08),
    'uniconvnet-n0_8xb128-accum4_in1k': dict(_STRONG, arch='N0', dp=0.08),
    'uniconvnet-n1_8xb128-accum4_in1k': dict(_STRONG, arch='N1', dp=0.1),
    'uniconvnet-n2_8xb128-accum4_in1k': dict(_STRONG, arch='N2', dp=0.1),
    'uniconvnet-n3_8xb128-accum4_in1k': dict(_STRONG, arch='N3', dp=0.1),
    'uniconvnet-t_8xb128-accum4_in1k': dict(_STRONG, arch='T', dp=0.2),
    'uniconvnet-s_8xb128-accum4_in1k': dict(_STRONG, arch='S', dp=0.4),
    'uniconvnet-b_8xb64-accum8_in1k': dict(_STRONG, arch='B', dp=0.6),
    'uniconvnet-l_8xb64-accum8_in21k': dict(_22K, arch='L', dp=0.2),
    'uniconvnet-xl_8xb64-accum8_in21k': dict(_22K, arch='XL', dp=0.2),
    'uniconvnet-t_in1k-pre_8xb64_in1k-384px': dict(_FT, arch='T', dp=0.4),
    'uniconvnet-s_in1k-pre_8xb64_in1k-384px': dict(_FT, arch='S', dp=0.6),
    'uniconvnet-b_in1k-pre_8xb64_in1k-384px': dict(_FT, arch='B', dp=0.8),
    'uniconvnet-l_in21k-pre_8xb64_in1k-384px': dict(_FT, arch='L', dp=0.3, llrd=0.8, ema=True),
    'uniconvnet-xl_in21k-pre_8xb64_in1k-384px': dict(_FT, arch='XL', dp=0.35, llrd=0.8, ema=True),
}
SMALL_ARCHS = ('A', 'P0', 'P1', 'P2', 'N0', 'N1')


def _deploy_twin(stem):
    arch, rest = stem.split('_', 1)
    return CONFIG_DIR / 'deploy' / f'{arch}-deploy_{rest}.py'


def test_every_config_is_listed():
    # the downstream configs (upernet_*, deeplabv3_*, pspnet_*) in tests/test_downstream_*.py
    assert sorted(p.stem for p in CONFIG_DIR.glob('uniconvnet-*.py')) == sorted(RECIPES)
    assert sorted((CONFIG_DIR / 'deploy').glob('uniconvnet-*.py')) == sorted(_deploy_twin(s) for s in RECIPES)


def _check_recipe(cfg, stem, r):
    backbone = cfg.model.backbone
    assert backbone.type == 'largekernel.UniConvNet' and backbone.arch == r['arch']
    assert backbone.drop_path_rate == r['dp'] and backbone.layer_scale_init_value == 1e-6
    assert backbone.gap_before_final_norm and tuple(backbone.out_indices) == (3,)
    assert cfg.model.head.num_classes == r['classes']
    assert cfg.model.head.in_channels == UniConvNet.arch_zoo[r['arch']]['dims'][-1]
    per_gpu, accum = cfg.train_dataloader.batch_size, cfg.optim_wrapper.get('accumulative_counts', 1)
    assert f'8xb{per_gpu}' in stem and 8 * per_gpu * accum == r['batch']
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, opt.eps, tuple(opt.betas)) == \
        ('AdamW', r['lr'], r['wd'], 1e-8, (0.9, 0.999))
    assert 'clip_grad' not in cfg.optim_wrapper
    if r['llrd'] is None:
        assert 'constructor' not in cfg.optim_wrapper
        assert cfg.optim_wrapper.paramwise_cfg.flat_decay_mult == 0.0  # no decay on 1-D params (layer scales)
    else:
        assert cfg.optim_wrapper.constructor == 'largekernel.LayerDecayOptimWrapperConstructor'
        assert dict(cfg.optim_wrapper.paramwise_cfg) == dict(layer_decay_rate=r['llrd'], num_layers=12)
    assert cfg.train_cfg.max_epochs == r['epochs']
    schedulers = [s.type for s in cfg.param_scheduler]
    if r['warmup']:
        assert schedulers == ['LinearLR', 'CosineAnnealingLR']
        assert cfg.param_scheduler[0].end == r['warmup'] == cfg.param_scheduler[1].begin
    else:
        assert schedulers == ['CosineAnnealingLR']
    assert cfg.param_scheduler[-1].eta_min == 1e-6
    assert cfg.model.head.loss.label_smooth_val == 0.1
    augments = (cfg.model.get('train_cfg') or {}).get('augments', [])
    assert [(a.type, a.alpha) for a in augments] == ([('Mixup', 0.8), ('CutMix', 1.0)] if r['mix'] else [])
    pipeline = cfg.train_dataloader.dataset.pipeline
    erasing = [t.erase_prob for t in pipeline if t.type == 'RandomErasing']
    assert erasing == ([0.25] if r['erase'] else [])
    assert [t.scale for t in pipeline if t.type == 'RandomResizedCrop'] == [r['size']]
    assert any(t.type == 'RandAugment' and t.magnitude_level == 9 for t in pipeline)
    hooks = [h for h in cfg.get('custom_hooks', []) if h.type == 'EMAHook']
    assert [h.momentum for h in hooks] == ([1e-4] if r['ema'] else [])
    assert all(h.get('interval', 1) == accum for h in hooks)  # one EMA update per optimizer step, as timm


@pytest.mark.parametrize('stem', sorted(RECIPES))
def test_config_states_the_paper_recipe_and_builds(stem):
    from mmengine.config import Config
    cfg = Config.fromfile(str(CONFIG_DIR / f'{stem}.py'))
    r = RECIPES[stem]
    _check_recipe(cfg, stem, r)
    twin = Config.fromfile(str(_deploy_twin(stem)))
    assert twin.model.backbone.pop('deploy') is True and 'deploy' not in cfg.model.backbone
    assert twin.to_dict() == cfg.to_dict()
    if r['arch'] in SMALL_ARCHS:  # the others build in test_configs_build_every_model (slow)
        with torch.device('meta'):
            model = MODELS.build(dict(cfg.model.backbone))
        assert isinstance(model, UniConvNet) and model.channels[-1] == cfg.model.head.in_channels


@pytest.mark.slow
def test_configs_build_every_model():
    from mmengine.config import Config
    for stem in sorted(RECIPES):
        for path in (CONFIG_DIR / f'{stem}.py', _deploy_twin(stem)):
            cfg = Config.fromfile(str(path))
            with torch.device('meta'):
                model = MODELS.build(dict(cfg.model.backbone))
            assert model.channels[-1] == cfg.model.head.in_channels
            try:
                from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
            except ImportError:  # mmpretrain needs mmcv; the backbone was built above
                continue
            with torch.device('meta'):
                classifier = MMPRETRAIN_MODELS.build(cfg.model)
            assert isinstance(classifier.backbone, UniConvNet)


def test_layer_decay_constructor_groups_uniconvnet_parameters():
    """The 384 fine-tune configs' optimizer: lr scale decay ** (13 - layer_id), no weight decay on 1-D params."""
    from largekernel.engine.optimizers import LayerDecayOptimWrapperConstructor
    model = Classifier(UniConvNet(TINY, gap_before_final_norm=True))
    constructor = LayerDecayOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
        dict(layer_decay_rate=0.7, num_layers=12))
    groups = constructor(model).optimizer.param_groups
    by_param = {id(p): g for g in groups for p in g['params']}
    named = dict(model.named_parameters())
    for name, lid in (('backbone.downsample_layers.0.0.weight', 0), ('backbone.stages.0.0.gamma0', 1),
                      ('backbone.stages.2.0.dcn.offset.weight', 3), ('backbone.stages.3.0.ffn.fc2.weight', 12),
                      ('backbone.norm3.weight', 13), ('head.weight', 13)):
        group = by_param[id(named[name])]
        assert group['lr'] == pytest.approx(1e-3 * 0.7 ** (13 - lid)), name
        assert group['weight_decay'] == (0.0 if named[name].ndim == 1 else 0.05), name


def test_mmpretrain_classifier_trains_from_a_config():
    """mmpretrain integration: the strong-recipe config's classifier (tiny arch), initialised by the runner's
    init_weights (TruncNormal on the whole model first), starts with the DCN branch at 0 and gives a finite loss
    with gradients through the backbone and the head."""
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(str(CONFIG_DIR / 'uniconvnet-n0_8xb128-accum4_in1k.py'))
    cfg.model.backbone.arch = TINY
    cfg.model.head.in_channels = TINY['dims'][-1]
    cfg.model.data_preprocessor = cfg.data_preprocessor  # as the runner does
    model = MMPRETRAIN_MODELS.build(cfg.model)
    model.init_weights()
    assert all(m.mask.weight.abs().sum() == 0 for m in model.backbone.modules() if isinstance(m, DCNv3))
    data = model.data_preprocessor(dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)] * 2,
                                        data_samples=[DataSample().set_gt_label(i) for i in (3, 7)]), training=True)
    losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.stages[0][0].dcn.mask.weight.grad.abs().sum() > 0
    assert model.head.fc.weight.grad.abs().sum() > 0
