"""The CPU depthwise conv (layers.depthwise), its choice by ``impl='auto'``, and the in-place inference of the GRN
FFN block: same numbers as the plain modules, on the families that use them."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from largekernel.models import ShiftWise, SLaK, UniConvNet, UniRepLKNet
from largekernel.models.backbones.shiftwise import ShiftWiseV1
from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.models.backbones.unireplknet import DilatedReparamBlock, UniRepLKNetBlock
from largekernel.models.layers import depthwise, grn_block, inference, lk_conv
from largekernel.models.layers.depthwise import CPUDepthwiseConv2d, same_depthwise_conv
from largekernel.models.layers.lk_conv import build_depthwise_conv, conv_impl
from largekernel.models.layers import norm
from largekernel.models.layers.norm import GRN, spatial_l2_norm


def pair(kernel, dilation=1):
    """An ``nn.Conv2d`` and a ``CPUDepthwiseConv2d`` with the same random float64 parameters."""
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    args = dict(padding=(dilation * (k[0] // 2), dilation * (k[1] // 2)), dilation=dilation, groups=6)
    native = nn.Conv2d(6, 6, k, **args, bias=True).double()
    ours = CPUDepthwiseConv2d(6, 6, k, **args, bias=True).double()
    ours.load_state_dict(native.state_dict())
    return native, ours


def grads(conv, x, grad_out):
    x = x.clone().requires_grad_()
    conv.zero_grad()
    out = conv(x)
    out.backward(grad_out)
    return out, x.grad, conv.weight.grad.clone(), conv.bias.grad.clone()


# kernel, dilation, input size: squares, strips (SLaK's, UniRepLKNet-T's 13 x 3), the 13-wide kernels oneDNN runs
# 15 wide on channels-last input, DRB branches (dilated), and maps smaller than the (dilated) kernel, whose
# outer taps are cropped
CASES = [(13, 1, (9, 11)), ((13, 3), 1, (10, 7)), ((3, 13), 1, (7, 10)), ((5, 51), 1, (6, 12)), (7, 1, (3, 2)),
         (7, 2, (12, 9)), (3, 4, (13, 14)), (3, 5, (6, 6)), (13, 1, (1, 1)), (31, 1, (7, 7)), ((51, 5), 1, (14, 3)),
         (5, 3, (5, 7)), (5, 4, (6, 9))]


@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'channels_last'])
@pytest.mark.parametrize('kernel, dilation, size', CASES)
def test_outputs_and_both_gradients_equal_nn_conv2d(kernel, dilation, size, channels_last):
    torch.manual_seed(0)
    native, ours = pair(kernel, dilation)
    x = torch.randn(3, 6, *size, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    grad_out = torch.randn(3, 6, *size, dtype=torch.float64)
    for a, b in zip(grads(ours, x, grad_out), grads(native, x, grad_out)):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10)
    with torch.no_grad():
        assert torch.allclose(ours(x), native(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16, torch.float64])
@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'channels_last'])
@pytest.mark.parametrize('kernel, dilation, size', [((51, 3), 1, (20, 9)), ((3, 13), 1, (8, 8)), (5, 2, (9, 11))])
def test_add_to_accumulates_the_conv_in_place(kernel, dilation, size, channels_last, dtype, monkeypatch):
    """``add_to`` (oneDNN's fused sum for float32/bfloat16, a separate add for float64) gives ``add_to + conv``."""
    fused_calls = []
    fused = depthwise._FUSED_ADD
    assert fused is not None  # the pinned torch has it
    monkeypatch.setattr(depthwise, '_FUSED_ADD', SimpleNamespace(
        binary=lambda *args: fused_calls.append(1) or fused.binary(*args)))
    torch.manual_seed(0)
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    padding = (dilation * (k[0] // 2), dilation * (k[1] // 2))
    x, other = (torch.randn(2, 6, *size, dtype=dtype) for _ in range(2))
    weight = torch.randn(6, 1, *k, dtype=dtype)
    expected = other.double() + F.conv2d(x.double(), weight.double(), None, 1, padding, dilation, 6)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out_layout = torch.channels_last if channels_last or k[1] > 13 else torch.contiguous_format
    other = other.contiguous(memory_format=out_layout)
    out = same_depthwise_conv(x, weight, None, padding, (dilation, dilation), add_to=other)
    assert out.data_ptr() == other.data_ptr() and out.dtype == dtype
    assert len(fused_calls) == (dtype != torch.float64)
    tol = 1e-2 if dtype == torch.bfloat16 else 1e-5 if dtype == torch.float32 else 1e-12
    assert ((out.double() - expected).norm() / expected.norm()).item() < tol


def test_bf16_autocast_matches_the_native_conv_within_bf16_rounding():
    torch.manual_seed(0)
    native, ours = (m.float() for m in pair(13))
    x = torch.randn(4, 6, 12, 12).contiguous(memory_format=torch.channels_last)
    grad_out = torch.randn(4, 6, 12, 12)
    results = []
    for conv in (ours, native):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out, gx, gw, gb = grads(conv, x, grad_out)
        assert out.dtype == torch.bfloat16 and gw.dtype == torch.float32
        results.append((out.float(), gx, gw, gb))
    for a, b in zip(*results):
        assert ((a - b).norm() / b.norm()).item() < 1e-2


def test_tracing_sees_the_plain_convolution():
    """FLOP counters and exporters trace ``nn.Conv2d``'s forward: the real kernel, no padded copy."""
    _, ours = pair(13)
    x = torch.randn(1, 6, 9, 9, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    graph = str(torch.jit.trace(ours, x).graph)
    assert 'aten::_convolution' in graph and 'pad' not in graph.replace('padding', '')


@pytest.mark.parametrize('kwargs, bad', [
    (dict(kernel_size=4), 'kernel_size'), (dict(stride=2), 'stride'), (dict(padding=1), 'padding'),
    (dict(groups=1), 'groups'), (dict(padding_mode='reflect'), 'padding_mode')])
def test_other_geometries_are_refused(kwargs, bad):
    args = dict(in_channels=4, out_channels=4, kernel_size=7, padding='same', groups=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"CPUDepthwiseConv2d supports .*got {{'{bad}'"):
        CPUDepthwiseConv2d(**args)


def test_auto_picks_the_cpu_conv_where_it_is_faster(monkeypatch):
    """Without CUDA: kernels of 5 and up and dilated ones (tools/analysis_tools/benchmark_dwconv.py --device cpu
    measures both); undilated 3 x 3 stay ``nn.Conv2d``. With CUDA: ``nn.Conv2d``."""
    monkeypatch.setattr(lk_conv, '_igemm_class', lambda: None)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    picks = {(k, d): conv_impl(build_depthwise_conv(4, k, dilation=d)) for k, d in
             [(3, 1), (3, 2), (5, 1), (13, 1), ((51, 5), 1)]}
    assert picks == {(3, 1): 'native', (3, 2): 'cpu', (5, 1): 'cpu', (13, 1): 'cpu', ((51, 5), 1): 'cpu'}
    assert conv_impl(build_depthwise_conv(4, 13, padding=(2, 2))) == 'native'  # not 'same': nn.Conv2d
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert conv_impl(build_depthwise_conv(4, 13)) == conv_impl(build_depthwise_conv(4, 3, dilation=3)) == 'native'
    assert conv_impl(build_depthwise_conv(4, 3, impl='cpu')) == 'cpu'


def test_unsupported_requests_name_the_value():
    with pytest.raises(ValueError, match=r"impl='triton' supports undilated kernels only; got dilation=2"):
        build_depthwise_conv(4, 3, dilation=2, impl='triton')
    with pytest.raises(ValueError, match=r"impl='cpu' supports odd kernel sides .* padding=\(1, 1\)"):
        build_depthwise_conv(4, 7, padding=(1, 1), impl='cpu')
    with pytest.raises(ValueError, match="unknown large-kernel conv impl 'fast'; valid:"):
        build_depthwise_conv(4, 7, impl='fast')


def tiny_unireplknet(conv_impl):
    torch.manual_seed(0)
    arch = dict(depths=(1, 2), dims=(8, 16), kernel_sizes=((3,), (13, 5)))
    return UniRepLKNet(arch, out_indices=(0, 1), conv_impl=conv_impl, layer_scale_init_value=0.5).double()


def test_unireplknet_training_step_equals_the_native_one():
    """Every gradient of a training step (DRB branches dilated, BNs in train mode) equals ``conv_impl='native'``."""
    ours, native = tiny_unireplknet('cpu'), tiny_unireplknet('native')
    assert {conv_impl(m) for m in ours.modules() if isinstance(m, nn.Conv2d) and m.groups > 1 and
            (max(m.kernel_size) >= 5 or max(m.dilation) > 1)} == {'cpu'}
    assert {conv_impl(m) for m in native.modules() if isinstance(m, nn.Conv2d)} == {'native'}
    native.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 35, 29, dtype=torch.float64)
    for model in (ours, native):
        model.train()
        sum(o.square().mean() for o in model(x)).backward()
    for (name, a), b in zip(ours.named_parameters(), native.parameters()):
        assert torch.allclose(a.grad, b.grad, rtol=1e-9, atol=1e-12), name


def test_reparameterisation_keeps_the_cpu_conv():
    torch.manual_seed(0)
    drb = DilatedReparamBlock(6, 13, conv_impl='cpu').double()
    randomize_bn_stats(drb)
    drb.eval()
    x = torch.randn(2, 6, 15, 15, dtype=torch.float64)
    before = drb(x)
    drb.reparameterize()
    assert type(drb.lk_origin) is CPUDepthwiseConv2d
    assert torch.allclose(drb(x), before, rtol=1e-10, atol=1e-10)


def test_slak_strips_follow_conv_impl():
    arch = dict(depths=(1, 1, 1, 1), dims=(8, 16, 32, 64))
    impls = {impl: {conv_impl(m) for n, m in SLaK(arch, conv_impl=impl).named_modules() if 'large_kernel.' in n
                    and isinstance(m, nn.Conv2d)} for impl in ('native', 'cpu')}
    assert impls == {'native': {'native'}, 'cpu': {'cpu'}}


# -- in-place inference of the GRN FFN block -----------------------------------------------------------------------
@pytest.mark.parametrize('kernel', [0, 3, 13])
@pytest.mark.parametrize('deploy', [False, True])
def test_inplace_inference_gives_the_out_of_place_result(kernel, deploy):
    """``torch.no_grad()`` reuses the block's temporaries: bit-identical output, the input left untouched (also
    for kernel 0, whose mixer is the identity)."""
    torch.manual_seed(kernel)
    block = UniRepLKNetBlock(8, kernel, layer_scale_init_value=0.5).eval()
    randomize_bn_stats(block)
    with torch.no_grad():
        block.grn.gamma.normal_()
        block.grn.beta.normal_()
    if deploy:
        block.reparameterize()
    x = torch.randn(2, 8, 9, 7).contiguous(memory_format=torch.channels_last)
    copy = x.clone()
    reference = block(x)  # autograd on: out of place
    with torch.no_grad():
        out = block(x)
    assert torch.equal(x, copy) and torch.equal(out, reference)


UR_ARCH = dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32), kernel_sizes=((3,), (13,), (13, 3), (13,)))


def grn_backbone(family, dtype=torch.float32):
    """A small deploy-form UniRepLKNet or SW (both built of GRN FFN blocks) with random statistics and GRN, and
    linear weights of unit gain and layer scales of 1 (the default 1e-6 would hide the FFN's output)."""
    torch.manual_seed(0)
    if family == 'unireplknet':
        model = UniRepLKNet(UR_ARCH, out_indices=(0, 1, 2, 3), layer_scale_init_value=1.0)
    else:
        model = ShiftWise(dict(depths=(1, 1, 2, 1), dims=(10, 12, 16, 20)), kernel_sizes=(13, 11, 9, 7),
                          out_indices=(0, 1, 2, 3), layer_scale_init_value=1.0)
    randomize_bn_stats(model)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, GRN):
                module.gamma.normal_()
                module.beta.normal_()
            elif isinstance(module, nn.Linear):  # hidden activations of order 1 (GELU's curved part)
                module.weight.normal_(0, module.in_features ** -0.5)
    model.switch_to_deploy()
    return model.to(dtype).eval()


@pytest.mark.parametrize('family', ['unireplknet', 'shiftwise'])
@pytest.mark.parametrize('chunk_rows', [40, 2 * 48, 1000])  # part of a sample, two samples, the whole batch
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_streamed_ffn_gives_the_plain_result(family, chunk_rows, dtype, monkeypatch):
    """Deploy inference streams the FFN in chunks once the hidden activation is large (forced here on small maps):
    the same output as the module-by-module path, in every chunking, for float32 and bfloat16."""
    model = grn_backbone(family, dtype)
    x = torch.randn(3, 3, 64, 48, dtype=dtype)  # stage 1: 16 x 12 = 192 pixels
    expected = model(x)  # gradients on: every module called in turn, nothing streamed
    streamed = []
    monkeypatch.setattr(inference, 'STREAM_MIN_BYTES', 0)
    plain = grn_block.GRNFFNBlock._streamed_ffn
    monkeypatch.setattr(grn_block.GRNFFNBlock, '_streamed_ffn',
                        lambda self, *args: streamed.append(args[1].shape) or plain(self, *args))
    for block in model.modules():  # chunks of chunk_rows stage-1 pixels
        if isinstance(block, grn_block.GRNFFNBlock) and block.pwconv1.in_features == model.channels[0]:
            hidden = block.pwconv1.out_features
    monkeypatch.setattr(inference, 'STREAM_CHUNK_BYTES', chunk_rows * hidden * x.element_size())
    with torch.no_grad():
        outs = model(x)
    assert len(streamed) == sum(model.depths)  # every block streamed
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    for out, ref in zip(outs, expected):
        assert out.dtype == dtype
        assert torch.allclose(out.float(), ref.float(), rtol=tol, atol=tol * ref.abs().max().item())


def test_streaming_is_chosen_only_where_it_applies(monkeypatch):
    """Large hidden activations stream; small ones, fp16, autocast, the training form, train mode and forward
    hooks (count_macs) keep the module-by-module path."""
    model = grn_backbone('unireplknet')
    block = model.stages[0][0]
    y = torch.randn(2, 8, 32, 32)  # hidden: 2 * 32 * 32 * 32 * 4 bytes = 256 KiB
    with torch.no_grad():
        monkeypatch.setattr(inference, 'STREAM_MIN_BYTES', 256 * 2 ** 10)
        assert block.streams(y)
        assert not block.streams(y[:, :, :16])  # half the bytes
        assert not block.streams(y.half())
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert not block.streams(y)
        block.train()
        assert not block.streams(y)
        block.eval()
        handle = block.pwconv2.register_forward_hook(lambda *args: None)
        assert not block.streams(y)
        handle.remove()
        assert grn_backbone('unireplknet').eval().stages[0][0].streams(y)
        training_form = UniRepLKNet(UR_ARCH).eval()
        assert not training_form.stages[0][0].streams(y)


MLP_FAMILIES = {  # the families whose FFN is Linear -> GELU -> Linear (layers.inference.mlp)
    'slak': lambda: SLaK(dict(depths=(1, 1, 1, 1), dims=(8, 16, 32, 64)), out_indices=(0, 1, 2, 3)),
    'shiftwise_v1': lambda: ShiftWiseV1(dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32)),
                                        kernel_sizes=(13, 11, 9, 7), out_indices=(0, 1, 2, 3)),
    'shiftwise_v1_se': lambda: ShiftWiseV1(dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32)), use_se=True,
                                           kernel_sizes=(13, 11, 9, 7), out_indices=(0, 1, 2, 3)),
    'uniconvnet': lambda: UniConvNet(dict(depths=(1, 1, 1, 1), dims=(16, 32, 32, 32), dcn_group_channels=8),
                                     out_indices=(0, 1, 2, 3)),
}


@pytest.mark.parametrize('family', sorted(MLP_FAMILIES))
@pytest.mark.parametrize('deploy', [False, True])
def test_streamed_mlp_gives_the_plain_result(family, deploy, monkeypatch):
    """The Linear -> GELU -> Linear FFNs stream in chunks of rows at inference (forced here): same output as the
    plain modules, in the training and the deploy form."""
    torch.manual_seed(0)
    model = MLP_FAMILIES[family]()
    randomize_bn_stats(model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('gamma') or 'gamma' in name.rsplit('.', 1)[-1]:
                p.fill_(1.0)  # layer scales of 1 (1e-6 would hide the FFN's output)
            elif p.dim() == 2:  # linear weights of unit gain: hidden activations of order 1
                p.normal_(0, p.shape[1] ** -0.5)
    if deploy:
        model.switch_to_deploy()
    model.eval()
    x = torch.randn(2, 3, 64, 48)
    expected = model(x)
    monkeypatch.setattr(inference, 'STREAM_MIN_BYTES', 0)
    monkeypatch.setattr(inference, 'STREAM_CHUNK_BYTES', 30 * 4 * 64)  # 30 rows of stage 1 or fewer elsewhere
    streamed = []
    plain = inference.streamed_mlp
    monkeypatch.setattr(inference, 'streamed_mlp', lambda x, *args: streamed.append(x.shape) or plain(x, *args))
    with torch.no_grad():
        outs = model(x)
    assert len(streamed) == sum(model.depths)
    for out, ref in zip(outs, expected):
        assert torch.allclose(out, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())


def test_grn_inplace_and_workspace():
    torch.manual_seed(0)
    grn = GRN(6)
    with torch.no_grad():
        grn.gamma.normal_()
        grn.beta.normal_()
        x = torch.randn(2, 5, 4, 6)
        expected = grn(x)
        workspace = torch.empty_like(x)
        assert torch.equal(grn(x.clone(), inplace=True, workspace=workspace), expected)
        assert torch.equal(workspace, x.square())


def test_spatial_norm_accumulates_low_precision_safely():
    x = torch.full((1, 4, 4, 3), 300.0)  # float16 squares would overflow (> 65504)
    assert torch.allclose(spatial_l2_norm(x.half()).float(), spatial_l2_norm(x), rtol=1e-3)
    bf16 = spatial_l2_norm(x.bfloat16())
    assert bf16.dtype == torch.float32 and torch.allclose(bf16, spatial_l2_norm(x), rtol=1e-2)
    expected = torch.linalg.vector_norm(x, dim=(1, 2), keepdim=True)
    assert torch.allclose(spatial_l2_norm(x), expected)


def reference_grn(x, gamma, beta, eps=1e-6):
    g = torch.linalg.vector_norm(x, dim=(1, 2), keepdim=True)
    return (gamma * g / (g.mean(-1, keepdim=True) + eps) + 1) * x + beta


@pytest.mark.parametrize('use_bias', [True, False])
def test_grn_hand_written_backward(use_bias):
    """GRN's training path (``_GRNFunction``): outputs and the gradients of x, gamma and beta equal autograd's
    through the plain formula (float64, and gradcheck), and track them in float32 and bfloat16."""
    torch.manual_seed(0)
    grn = GRN(6, use_bias=use_bias).double()
    with torch.no_grad():
        grn.gamma.normal_()
        if use_bias:
            grn.beta.normal_()
    x = torch.randn(2, 5, 4, 6, dtype=torch.float64)
    x[1, :, :, 2] = 0  # an all-zero channel
    grad = torch.randn_like(x)
    params = [grn.gamma] + ([grn.beta] if use_bias else [])

    def grads(fn, dtype):
        inp = x.to(dtype).clone().requires_grad_()
        ps = [p.detach().to(dtype).clone().requires_grad_() for p in params]
        out = fn(inp, *ps)
        out.backward(grad.to(dtype))
        return [out] + [t.grad for t in [inp] + ps]

    ours_fn = lambda inp, gamma, beta=None: norm._GRNFunction.apply(inp, gamma, beta, grn.eps)  # noqa: E731
    ref_fn = lambda inp, gamma, beta=0: reference_grn(inp, gamma, beta, grn.eps)  # noqa: E731
    expected = grads(ref_fn, torch.float64)
    for got, ref in zip(grads(ours_fn, torch.float64), expected):
        assert torch.allclose(got, ref, rtol=1e-10, atol=1e-12)
    for dtype, tol in ((torch.float32, 1e-5), (torch.bfloat16, 3e-2)):
        for got, ref in zip(grads(ours_fn, dtype), expected):
            assert got.dtype == dtype
            assert torch.allclose(got.double(), ref, rtol=tol, atol=tol * ref.abs().max().item())
    assert torch.autograd.gradcheck(ours_fn, (x[:1, :3].clone().requires_grad_(),
                                              *[p.detach()[..., :6].clone().requires_grad_() for p in params]))
    with torch.enable_grad():  # the module takes this path with gradients on
        called = []
        original = norm._GRNFunction.apply
        norm._GRNFunction.apply = lambda *args: called.append(1) or original(*args)
        try:
            grn(x.clone().requires_grad_())
        finally:
            norm._GRNFunction.apply = original
        assert called


def test_grn_gradient_is_finite_for_an_all_zero_channel():
    """An all-zero channel (the quick start has them after a few hundred steps): sqrt's infinite gradient at 0
    made every weight NaN; the gradients now equal those of torch.linalg.vector_norm's zero subgradient."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    x[:, :, :, 1] = 0
    grn = GRN(4).double()
    with torch.no_grad():
        grn.gamma.normal_()
    ours = x.clone().requires_grad_()
    grn(ours).square().sum().backward()
    reference = x.clone().requires_grad_()
    g = torch.linalg.vector_norm(reference, dim=(1, 2), keepdim=True)
    ((grn.gamma * g / (g.mean(-1, keepdim=True) + grn.eps) + 1) * reference).square().sum().backward()
    assert torch.isfinite(ours.grad).all()
    assert torch.allclose(ours.grad, reference.grad, rtol=1e-10, atol=1e-12)
