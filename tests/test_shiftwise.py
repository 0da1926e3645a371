"""ShiftwiseConv (SW): operator vs the official shift-add semantics and the dense strip equivalent, deploy form,
published sizes, bad input, sparse-hook wiring, configs."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.models.backbones.shiftwise import (ShiftWise, ShiftWiseConv, ghost_split, rep_channel_count,
                                                    shift_tables)
from largekernel.models.layers import lk_conv
from largekernel.utils import count_macs, count_params
from largekernel.utils.model_index import list_models

TINY_ARCH = dict(depths=(1, 1, 2, 1), dims=(10, 12, 16, 20))
TINY_KERNELS = (13, 11, 9, 7)


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def randomize(module, seed=0):
    """Non-trivial weights everywhere: random BN stats, conv weights, layer scales and GRN parameters."""
    g = torch.Generator().manual_seed(seed)
    randomize_bn_stats(module, g)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith(('gamma', 'beta')) or 'lk_conv' in name:
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return module


# -- an independent model of the official operator (paper §3.5; the CUDA kernel semantics) ----------------------
def official_pads(module):
    """Per-filter offsets in the official layout: pad[e, j * nk + t] = real_pad[position of filter t]."""
    m, k, nk, n = module.kernel_size, module.small_kernel, module.nk, module.rep_channels
    p = k - 1 if module.padding == 'code' else k // 2
    real_pad = torch.tensor([m // 2 - k * i - p for i in range(nk)])
    pads = []
    for table in (module.h_table, module.v_table):
        pad = torch.empty(table.shape[0], n * nk, dtype=torch.long)
        for e in range(table.shape[0]):
            for j in range(n):
                pad[e, j * nk + table[e, j]] = real_pad  # filter table[e, j, i] sits at position i
        pads.append(pad)
    return pads[0], pads[1], p


def official_forward(module, x, weights, bns):
    """Group conv (padding p) -> for every filter, edge and direction: add the conv output, cropped by e across
    and shifted by its offset along the strip, dropping what falls outside -> 3 BNs -> + identity -> concat."""
    pad_h, pad_v, p = official_pads(module)
    k, nk, n = module.small_kernel, module.nk, module.rep_channels
    x_rep = x[:, module.rep_index]
    y = sum(F.conv2d(x_rep, w, padding=p, groups=n) for w in weights)
    height, width = x.shape[-2:]
    e = p - k // 2
    outs = [torch.zeros_like(x_rep) for _ in range(3)]
    for f in range(n * nk):
        j = f // nk
        for edge in range(pad_h.shape[0]):
            for w in range(width):  # horizontal: out[j, r, w] += y[f, r + e, w - pad]
                c = w - int(pad_h[edge, f])
                if 0 <= c < y.shape[-1]:
                    outs[0][:, j, :, w] += y[:, f, e:e + height, c]
            for r in range(height):  # vertical: out[j, r, w] += y[f, r - pad, w + e]
                c = r - int(pad_v[edge, f])
                if 0 <= c < y.shape[-2]:
                    outs[1][:, j, r, :] += y[:, f, c, e:e + width]
            if f == j * nk + int(module.s_table[edge, j]):
                outs[2][:, j] += y[:, f, e:e + height, e:e + width]
    out = x_rep + sum(bn(o) for bn, o in zip(bns, outs))
    return torch.cat([out, x[:, module.ghost_index]], 1)


def dense_strip_forward(module, x):
    """The operator's exact dense equivalent: depth-wise correlations with kernels assembled by placing every 3x3 filter
    at its offset (horizontal 3 x L along columns, vertical L x 3 along rows, not transposed) and summing over
    edges; padding = how far the strip reaches on each side."""
    pad_h, pad_v, p = official_pads(module)
    k, nk, n, m = module.small_kernel, module.nk, module.rep_channels, module.kernel_size
    weight = sum(c.weight for c in module.lk_convs).reshape(n, nk, k, k)
    reach = max(m // 2, k * nk - 1 - m // 2) + 1
    size = 2 * reach + 1
    kh = x.new_zeros(n, 1, k, size)
    kv = x.new_zeros(n, 1, size, k)
    ks = x.new_zeros(n, 1, k, k)
    for j in range(n):
        for t in range(nk):
            for edge in range(pad_h.shape[0]):
                centre = reach - (int(pad_h[edge, j * nk + t]) + 1)  # window centre at offset -(real_pad + 1)
                kh[j, 0, :, centre - 1:centre + 2] += weight[j, t]
                centre = reach - (int(pad_v[edge, j * nk + t]) + 1)
                kv[j, 0, centre - 1:centre + 2, :] += weight[j, t]
        for edge in range(pad_h.shape[0]):
            ks[j, 0] += weight[j, module.s_table[edge, j]]
    x_rep = x[:, module.rep_index]
    out_h = F.conv2d(x_rep, kh, padding=(1, reach), groups=n)
    out_v = F.conv2d(x_rep, kv, padding=(reach, 1), groups=n)
    out_s = F.conv2d(x_rep, ks, padding=1, groups=n)
    out = x_rep + module.bn_h(out_h) + module.bn_v(out_v) + module.bn_s(out_s)
    return torch.cat([out, x[:, module.ghost_index]], 1)


def make_op(channels=10, kernel_size=13, seed=0, **kwargs):
    torch.manual_seed(seed)
    op = ShiftWiseConv(channels, kernel_size, **kwargs).double()
    return randomize(op, seed).eval()


# -- the official tables ---------------------------------------------------------------------------------------------
def test_ghost_split_is_official_numpy_draw():
    rep, ghost = ghost_split(80, rep_channel_count(80, 0.23))
    assert (len(rep), len(ghost)) == (60, 20)
    np.random.seed(123)  # the official call sequence
    expected = sorted(np.random.choice(80, 20, replace=False).tolist())
    assert ghost.tolist() == expected
    assert sorted(rep.tolist() + ghost.tolist()) == list(range(80))
    # repN for the published widths (ghost split, §3.4)
    assert [rep_channel_count(c, 0.23) for c in (80, 160, 320, 640, 96, 192, 384, 768)] == \
        [60, 122, 246, 492, 72, 146, 294, 590]


def test_shift_tables_follow_official_rng_order():
    n, nk, edges = 5, 4, 3
    h, v, s = shift_tables(n, nk, edges)
    state = torch.random.get_rng_state()
    try:  # the official generation: global seed, horizontal lists, vertical lists, then the small picks
        torch.manual_seed(123)
        off_h = [torch.cat([torch.randperm(nk) + j * nk for j in range(n)]) for _ in range(edges)]
        off_v = [torch.cat([torch.randperm(nk) + j * nk for j in range(n)]) for _ in range(edges)]
        off_s = [torch.randint(0, nk, [n]) + torch.arange(n) * nk for _ in range(edges)]
    finally:
        torch.random.set_rng_state(state)
    base = torch.arange(n).view(n, 1) * nk
    for e in range(edges):
        assert torch.equal(h[e] + base, off_h[e].view(n, nk))
        assert torch.equal(v[e] + base, off_v[e].view(n, nk))
        assert torch.equal(s[e] + base[:, 0], off_s[e])
    assert torch.equal(h.sort(-1).values, torch.arange(nk).expand_as(h))  # permutations


def test_tables_are_buffers_in_the_state_dict():
    op = ShiftWiseConv(10, 13)
    keys = set(op.state_dict())
    assert {'rep_index', 'ghost_index', 'h_table', 'v_table', 's_table'} <= keys
    assert op.h_table.shape == (4, op.rep_channels, 5) and op.s_table.shape == (4, op.rep_channels)
    # loading a checkpoint restores tables that differ from the constructor's
    other = ShiftWiseConv(10, 13, seed=7)
    assert not torch.equal(other.h_table, op.h_table)
    other.load_state_dict(op.state_dict())
    assert torch.equal(other.h_table, op.h_table)


# -- operator equivalences -------------------------------------------------------------------------------------------
@pytest.mark.parametrize('channels,kernel_size,size', [(10, 13, (9, 11)), (8, 11, (6, 5)), (12, 10, (7, 7)),
                                                       (10, 7, (12, 4))])
@pytest.mark.parametrize('impl', ['strip', 'shift'])
def test_operator_matches_official_shift_add(channels, kernel_size, size, impl):
    op = make_op(channels, kernel_size, impl=impl, num_edges=3)
    x = torch.randn(2, channels, *size, dtype=torch.float64)
    expected = official_forward(op, x, [c.weight for c in op.lk_convs], (op.bn_h, op.bn_v, op.bn_s))
    assert rel_err(op(x), expected) <= 1e-12


def test_operator_matches_official_shift_add_paper_padding():
    op = make_op(10, 13, padding='paper')
    x = torch.randn(2, 10, 8, 9, dtype=torch.float64)
    expected = official_forward(op, x, [c.weight for c in op.lk_convs], (op.bn_h, op.bn_v, op.bn_s))
    assert rel_err(op(x), expected) <= 1e-12
    # the paper's padding drops the windows centred one pixel outside the image: not the code's operator
    code = make_op(10, 13, padding='code')
    code.load_state_dict(op.state_dict())
    assert rel_err(code(x), expected) > 1e-3


def test_operator_without_ghost_channels():
    op = make_op(10, 9, ghost_ratio=0.0)  # "#26 - ghost" ablation: every channel shift-wise
    assert op.ghost_index.numel() == 0 and op.rep_channels == 10
    x = torch.randn(2, 10, 7, 8, dtype=torch.float64)
    expected = official_forward(op, x, [c.weight for c in op.lk_convs], (op.bn_h, op.bn_v, op.bn_s))
    assert rel_err(op(x), expected) <= 1e-12


@pytest.mark.parametrize('kernel_size', [51, 49, 47, 13])  # the four stages' geometry (Table 8)
def test_operator_matches_dense_strip_convolution(kernel_size):
    op = make_op(6, kernel_size)
    x = torch.randn(1, 6, 10, 12, dtype=torch.float64)
    assert rel_err(op(x), dense_strip_forward(op, x)) <= 1e-12


def test_strip_and_shift_impls_agree_in_training_incl_gradients():
    ops = [make_op(10, 11, impl=impl).train() for impl in ('strip', 'shift')]
    x = torch.randn(2, 10, 8, 8, dtype=torch.float64, requires_grad=True)
    outs, grads = [], []
    for op in ops:
        out = op(x)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        outs.append(out)
        grads.append([x.grad.clone()] + [c.weight.grad for c in op.lk_convs])
        x.grad = None
    assert rel_err(outs[1], outs[0]) <= 1e-12
    for a, b in zip(*grads):
        assert rel_err(b, a) <= 1e-12


@pytest.mark.parametrize('padding,impl', [('code', 'strip'), ('code', 'shift'), ('paper', 'shift')])
def test_operator_deploy_equivalence(padding, impl):
    op = make_op(10, 13, padding=padding, impl=impl)
    x = torch.randn(2, 10, 9, 7, dtype=torch.float64)
    expected = op(x)
    op.reparameterize()
    op.reparameterize()  # idempotent
    assert op.deploy and not hasattr(op, 'lk_convs') and not hasattr(op, 'bn_h')
    assert rel_err(op(x), expected) <= 1e-10
    with torch.no_grad():  # the inference path (channels-last strips, cached kernels), twice
        assert rel_err(op(x), expected) <= 1e-10 and rel_err(op(x), expected) <= 1e-10


@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'channels_last'])
@pytest.mark.parametrize('kernel_size, size', [(13, (9, 7)), (51, (12, 20)), (47, (5, 4))])
def test_conv_impls_agree_in_training_and_inference(kernel_size, size, channels_last):
    """The strips on the CPU paths (``conv_impl='cpu'``, the default without CUDA) give ``F.conv2d``'s output and
    gradients, in training and in the deploy form's inference (input channel order), maps smaller than M included."""
    ops = {impl: make_op(10, kernel_size, conv_impl=impl) for impl in ('native', 'cpu')}
    assert ops['cpu'].functional_conv_impls == {'cpu': 2}
    x = torch.randn(2, 10, *size, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    grad = torch.randn(2, 10, *size, dtype=torch.float64)
    results = {}
    for impl, op in ops.items():
        xi = x.clone().requires_grad_()
        out = op.train()(xi)
        out.backward(grad)
        results[impl] = [out, xi.grad, *(c.weight.grad for c in op.lk_convs)]
    for ours, ref in zip(results['cpu'], results['native']):
        assert rel_err(ours, ref) <= 1e-12
    with torch.no_grad():
        for op in ops.values():
            op.eval().reparameterize()
        assert rel_err(ops['cpu'](x), ops['native'](x)) <= 1e-12


def test_backbone_logs_the_strips_implementation(monkeypatch):
    messages = []
    monkeypatch.setattr(lk_conv, 'print_log', lambda msg, logger=None: messages.append(msg))
    monkeypatch.setattr(lk_conv, '_LOGGED', set())
    ShiftWise(TINY_ARCH, kernel_sizes=TINY_KERNELS, conv_impl='native')
    assert messages == ['ShiftWise: depthwise convs larger than 5x5: 10 native']  # 5 blocks, two strips each


def test_operator_low_precision_and_determinism():
    op = make_op(10, 13).float()
    x = torch.randn(2, 10, 12, 12)
    ref = op(x)
    assert torch.equal(op(x), ref)
    out = op.to(torch.bfloat16)(x.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16 and rel_err(out.float(), ref) < 2e-2


def test_operator_count_macs_is_the_official_group_conv():
    op = ShiftWiseConv(80, 51)  # SW-tiny stage 1 at 224: 56 x 56 map, conv on 58 x 58
    macs = count_macs(nn.Sequential(op), inputs=torch.zeros(2, 80, 56, 56))
    assert macs == 60 * 17 * 9 * 58 * 58
    paper = ShiftWiseConv(80, 51, padding='paper')
    assert count_macs(nn.Sequential(paper), inputs=torch.zeros(1, 80, 56, 56)) == 60 * 17 * 9 * 56 * 56


# -- bad input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs,match', [
    (dict(kernel_size=3), 'kernel_size .*larger than small_kernel=3, got 3'),
    (dict(kernel_size=13, small_kernel=4), 'small_kernel must be an odd positive int, got 4'),
    (dict(kernel_size=13.0), 'got 13.0'),
    (dict(kernel_size=13, padding='same'), "unknown padding 'same'"),
    (dict(kernel_size=13, impl='cuda'), "unknown impl 'cuda'"),
    (dict(kernel_size=13, padding='paper', impl='strip'), "impl='strip' needs padding='code'"),
    (dict(kernel_size=13, ghost_ratio=1.0), 'ghost_ratio must lie in \\[0, 1\\), got 1.0'),
    (dict(kernel_size=13, num_edges=0), 'num_edges must be a positive int, got 0'),
    (dict(kernel_size=13, conv_impl='igemm'), "unknown conv_impl 'igemm'"),
    (dict(kernel_size=13, impl='shift', conv_impl='cpu'), "conv_impl='cpu' runs the strips of impl='strip'"),
])
def test_operator_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ShiftWiseConv(10, **kwargs)


def test_operator_too_few_channels():
    with pytest.raises(ValueError, match='channels=2 with ghost_ratio=0.23 leaves 0'):
        ShiftWiseConv(2, 13)
    with pytest.raises(ValueError, match='channels must be a positive int, got 0'):
        ShiftWiseConv(0, 13)


def test_backbone_bad_input():
    with pytest.raises(KeyError, match="unknown arch 'base'"):
        ShiftWise('base')
    with pytest.raises(ValueError, match='kernel_sizes \\(51, 49, 47\\) must give one large kernel per stage'):
        ShiftWise('tiny', kernel_sizes=(51, 49, 47))
    with pytest.raises(ValueError, match='larger than small_kernel=3, got 2'):
        ShiftWise(TINY_ARCH, kernel_sizes=(13, 11, 9, 2))


# -- backbone --------------------------------------------------------------------------------------------------------
def small_backbone(**kwargs):
    torch.manual_seed(0)
    model = ShiftWise(TINY_ARCH, kernel_sizes=TINY_KERNELS, **kwargs).double()
    return randomize(model).eval()


def test_backbone_deploy_equivalence_and_keys():
    model = small_backbone(out_indices=(0, 1, 2, 3))
    x = torch.randn(2, 3, 64, 48, dtype=torch.float64)
    expected = model(x)
    assert [o.shape[1:] for o in expected] == [(10, 16, 12), (12, 8, 6), (16, 4, 3), (20, 2, 2)]
    model.switch_to_deploy()
    for out, ref in zip(model(x), expected):
        assert rel_err(out, ref) <= 1e-10
    built = ShiftWise(TINY_ARCH, kernel_sizes=TINY_KERNELS, out_indices=(0, 1, 2, 3), deploy=True)
    assert {k: v.shape for k, v in built.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    built.double().eval().load_state_dict(model.state_dict())
    for out, ref in zip(built(x), expected):
        assert rel_err(out, ref) <= 1e-10


def test_backbone_classification_mode_and_training_step():
    model = ShiftWise(TINY_ARCH, kernel_sizes=TINY_KERNELS, drop_path_rate=0.1, gap_before_final_norm=True,
                      with_cp=True)
    out = model(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 20)
    (out[0] * torch.randn(2, 20)).sum().backward()  # (a plain sum after the LayerNorm is constant)
    grads = [c.weight.grad for s in model.stages for b in s for c in b.mixer.lk_convs]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


# -- published sizes (Table 3; configs/shiftwise/metafile.yml) ---------------------------------------------------------
def classifier_sizes(arch):
    with torch.device('meta'):
        model = ShiftWise(arch, gap_before_final_norm=True)
        head = nn.Linear(model.channels[-1], 1000)
        deploy_model = ShiftWise(arch, gap_before_final_norm=True, deploy=True)
    train = count_params(model) + count_params(head)
    one_branch = sum(b.mixer.lk_convs[1].weight.numel() for s in model.stages for b in s)
    deploy = count_params(deploy_model) + count_params(head)
    macs = count_macs(nn.Sequential(deploy_model, _First(), head), inputs=torch.zeros(1, 3, 224, 224, device='meta'))
    return train, train - one_branch, deploy, macs


class _First(nn.Module):
    def forward(self, outs):
        return outs[-1]


PUBLISHED = {e.arch: e for e in list_models(backbone='ShiftWise')
             if e.training_data[-1].startswith('ImageNet')}  # the classifiers


@pytest.mark.parametrize('arch,train_params,merged_params,macs', [
    (a, e.target('Training Parameters'), e.target('Parameters'), e.target('FLOPs')) for a, e in PUBLISHED.items()])
def test_published_sizes(arch, train_params, merged_params, macs):
    train, merged, deploy, measured_macs = classifier_sizes(arch)
    assert train == pytest.approx(train_params, rel=1e-3)  # reference count of the official model, two Rep branches
    assert merged == pytest.approx(merged_params, rel=3e-3)  # the published convention (merged branches)
    assert deploy == pytest.approx(merged_params, rel=3e-3)  # our fully folded inference form
    assert measured_macs == pytest.approx(macs, rel=3e-2)


def test_deploy_kernel_cache_follows_weight_updates():
    op = make_op(10, 13)
    op.reparameterize()
    x = torch.randn(1, 10, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        first = op(x)
        op.lk_conv.weight.mul_(2)  # e.g. an optimizer step or load_state_dict
        second = op(x)
    assert not torch.allclose(first, second)
    fresh = make_op(10, 13)
    fresh.reparameterize()
    fresh.load_state_dict(op.state_dict())
    assert rel_err(second, fresh(x)) <= 1e-12


@pytest.mark.parametrize('kwargs', [dict(), dict(use_se=False), dict(ghost_ratio=0.0)])
def test_deploy_inference_in_input_channel_order(kwargs):
    """Eager deploy inference (the block's BN folded into the strips, channels kept in input order) equals the
    module-by-module deploy path; a forward hook, a BN in train mode, or changed weights and statistics select or
    refresh the right path."""
    model = small_backbone(out_indices=(0, 1, 2, 3), **kwargs)
    model.switch_to_deploy()
    x = torch.randn(2, 3, 64, 48, dtype=torch.float64)

    def check():
        expected = model(x)  # gradients on: every module called in turn
        with torch.no_grad():
            for out, ref in zip(model(x), expected):
                assert rel_err(out, ref) <= 1e-12

    block = model.stages[1][0]
    check()
    assert '_input_order_cache' in block.__dict__  # the input-order path ran
    # in-place changes (load_state_dict, a fine-tuning step) refresh the cached kernels and weights
    for change in (lambda: block.norm.running_var.mul_(3), lambda: block.norm.bias.add_(1),
                   lambda: block.pwconv1.weight.mul_(2), lambda: block.mixer.scale.mul_(-1)):
        with torch.no_grad():
            change()
        check()
    calls = []
    handle = block.pwconv1.register_forward_hook(lambda *args: calls.append(args[0]))
    with torch.no_grad():
        model(x)
    handle.remove()
    assert len(calls) == 1  # a hooked module is called (count_macs, feature extraction)
    block.norm.train()  # batch statistics: nothing may be folded
    with torch.no_grad():
        train_bn = model(x)
    block.norm.eval()
    with torch.no_grad():
        assert not torch.allclose(train_bn[1], model(x)[1])


# -- tools/analysis_tools/benchmark.py -----------------------------------------------------------------------------
def load_benchmark():
    import importlib.util
    spec = importlib.util.spec_from_file_location('benchmark', 'tools/analysis_tools/benchmark.py')
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    return benchmark


@pytest.mark.parametrize('mode', ['deploy', 'train'])
def test_benchmark_tool_on_bare_backbones(tmp_path, mode):
    benchmark = load_benchmark()
    configs = []
    for name, model in (('sw', f"dict(type='ShiftWise', arch={TINY_ARCH}, kernel_sizes={TINY_KERNELS})"),
                        ('ur', "dict(type='UniRepLKNet', arch='A', gap_before_final_norm=True)")):
        path = tmp_path / f'{name}.py'
        path.write_text(f"default_scope = 'largekernel'\nmodel = {model}\n")
        configs.append(str(path))
    rows = benchmark.main([configs[0], '--baseline', configs[1], '--batch-size', '2', '--shape', '32', '48',
                           '--mode', mode, '--iters', '1', '--warmup', '1', '--device', 'cpu'])
    assert [r['config'] for r in rows] == [configs[1], configs[0]]
    assert rows[0]['ratio'] == 1.0 and rows[1]['images_per_s'] > 0
    assert rows[1]['ratio'] == pytest.approx(rows[1]['images_per_s'] / rows[0]['images_per_s'])
    with pytest.raises(SystemExit):
        benchmark.parse_args([configs[0], '--mode', 'fast'])
    with pytest.raises(SystemExit):  # fp16 autocast is CUDA-only
        benchmark.parse_args([configs[0], '--amp', 'fp16', '--device', 'cpu'])
    bf16 = benchmark.main([configs[1], '--batch-size', '2', '--shape', '32', '32', '--mode', mode, '--iters', '1',
                           '--warmup', '0', '--device', 'cpu', '--amp', 'bf16'])
    assert bf16[0]['images_per_s'] > 0 and bf16[0]['peak_bytes'] is None


def test_benchmark_variant_measures_each_config_with_other_options(tmp_path):
    """``--variant``: every config once as is and once with the options, in the same run (here a bigger arch,
    so the second row's parameter count shows the option was applied)."""
    benchmark = load_benchmark()
    path = tmp_path / 'ur.py'
    path.write_text("default_scope = 'largekernel'\nmodel = dict(type='UniRepLKNet', arch='A')\n")
    rows = benchmark.main([str(path), '--batch-size', '1', '--shape', '32', '32', '--iters', '1', '--warmup', '0',
                           '--device', 'cpu', '--variant', 'model.arch=F', 'model.channels_last=False'])
    assert [r['config'] for r in rows] == [str(path), f'{path} (+ model.arch=F, model.channels_last=False)']
    assert rows[1]['params'] > rows[0]['params']


def test_benchmark_stream_ab_turns_streaming_off_in_its_rows(tmp_path, monkeypatch):
    benchmark = load_benchmark()
    from largekernel.models.layers import inference
    seen = []
    monkeypatch.setattr(inference, 'STREAM_MIN_BYTES', 0)  # every FFN streams, unless turned off
    plain = inference.streamed_mlp
    monkeypatch.setattr(inference, 'streamed_mlp', lambda *args: seen.append(1) or plain(*args))
    path = tmp_path / 'slak.py'
    path.write_text("default_scope = 'largekernel'\nmodel = dict(type='SLaK', arch=dict(depths=(1, 1, 1, 1), "
                    "dims=(8, 16, 24, 32)))\n")
    rows = benchmark.main([str(path), '--batch-size', '1', '--shape', '32', '32', '--iters', '2', '--warmup', '0',
                           '--device', 'cpu', '--stream-ab'])
    assert [r['config'] for r in rows] == [str(path), f'{path} (FFN not streamed)']
    assert len(seen) == 2 * 4 and inference.STREAM_MIN_BYTES == 0  # only the first row's 2 iterations streamed


def test_benchmark_amp_step_runs_under_autocast():
    benchmark = load_benchmark()
    dtypes = []
    model = nn.Conv2d(3, 4, 3)
    model.register_forward_hook(lambda module, inputs, output: dtypes.append(output.dtype))
    for amp in (None, 'bf16'):
        benchmark.make_step(model, 'train', 2, 3, (8, 8), torch.device('cpu'), amp)()
    assert dtypes == [torch.float32, torch.bfloat16] and model.weight.grad.dtype == torch.float32


@pytest.mark.parametrize('arch,published', [(a, e.target('Pruned Parameters')) for a, e in PUBLISHED.items()])
def test_merged_params_with_30_percent_of_lk_filters_pruned(arch, published):
    """The merged model with 30 % of the large-kernel filters zero (the sparse-trained checkpoint)."""
    from largekernel.utils.sparsity import sparse_param_count
    with torch.device('meta'):
        model = ShiftWise(arch, num_branches=1, gap_before_final_norm=True)
        head = nn.Linear(model.channels[-1], 1000)
    kept = sparse_param_count(model, 1 - PUBLISHED[arch].sparsity, include=[r'mixer\.lk_convs\.\d+\.weight$'],
                              granularity='filter')
    assert kept + count_params(head) == pytest.approx(published, rel=1e-3)


# -- configs and the sparse hook -------------------------------------------------------------------------------------
CONFIGS = ['configs/shiftwise/shiftwise-tiny_8xb64-accum8_in1k.py',
           'configs/shiftwise/shiftwise-small_8xb64-accum8_in1k.py',
           'configs/shiftwise/deploy/shiftwise-tiny-deploy_8xb64-accum8_in1k.py',
           'configs/shiftwise/deploy/shiftwise-small-deploy_8xb64-accum8_in1k.py']


@pytest.mark.parametrize('path', CONFIGS)
def test_configs_load_and_build_backbone(path):
    import glob

    from mmengine.config import Config
    from mmengine.registry import MODELS
    recipes = [p for p in glob.glob('configs/shiftwise/**/shiftwise-*.py', recursive=True) if '/ablations/' not in p]
    # the ablation and downstream configs: tests/test_ablations.py, tests/test_downstream_*.py
    assert sorted(recipes) == sorted(CONFIGS)
    cfg = Config.fromfile(path)
    arch = 'small' if 'small' in path else 'tiny'
    backbone = cfg.model.backbone
    assert (backbone.arch, backbone.drop_path_rate, backbone.deploy if 'deploy' in path else False) == \
        (arch, 0.4 if arch == 'small' else 0.2, 'deploy' in path)
    # Table 8: 4096 = 8 x 64 x 8, AdamW 4e-3, wd 0.05, 5 warm-up epochs of 300, mixup 0.8 / cutmix 1.0
    assert cfg.train_dataloader.batch_size * cfg.optim_wrapper.accumulative_counts * 8 == 4096
    assert (cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay) == (4e-3, 0.05)
    assert cfg.param_scheduler[0].end == 5 and cfg.train_cfg.max_epochs == 300
    assert [a['alpha'] for a in cfg.model.train_cfg.augments] == [0.8, 1.0]
    assert cfg.model.head.in_channels == (768 if arch == 'small' else 640)
    if 'deploy' not in path:
        (hook,) = cfg.custom_hooks
        assert (hook.sparsity, hook.update_interval, hook.prune, hook.sync_gap) == (0.3, 100, 'magnitude_sum', 131)
    with torch.device('meta'):
        model = MODELS.build(dict(backbone, type='largekernel.ShiftWise'))
    assert model.deploy == ('deploy' in path)


@pytest.mark.parametrize('path', CONFIGS)
def test_configs_build_classifier(path):
    pytest.importorskip('mmpretrain.models', reason='mmpretrain (ImageClassifier) is not importable')
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(path)
    init_default_scope('mmpretrain')
    with torch.device('meta'):
        classifier_model = MODELS.build(cfg.model)
    assert classifier_model.backbone.deploy == ('deploy' in path)


def test_sparse_hook_with_the_config_settings():
    from mmengine.config import Config

    from largekernel.engine.sparse import DynamicSparseHook
    settings = dict(Config.fromfile(CONFIGS[0]).custom_hooks[0])
    settings.pop('type')
    assert settings['init'] == 'snip'
    settings.update(update_interval=1, total_steps=10, sync_gap=2, seed=0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = ShiftWise(TINY_ARCH, kernel_sizes=TINY_KERNELS, gap_before_final_norm=True)
            self.head = nn.Linear(20, 4)

        def forward(self, x):
            return self.head(self.backbone(x)[0])

    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    hook = DynamicSparseHook(**settings)
    batch = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    hook.setup(net, [opt], loss_fn=lambda model: F.cross_entropy(model(batch[0]), batch[1]))  # SNIP on one batch
    lk = [f'backbone.stages.{i}.{j}.mixer.lk_convs.{b}.weight' for i, d in enumerate(TINY_ARCH['depths'])
          for j in range(d) for b in (0, 1)]
    assert sorted(hook.masks) == sorted(lk)  # only the large-kernel group convs ("only L"), both Rep branches
    assert len(hook.groups) == len(lk) // 2
    counts = {name: int(hook.masks[name].sum()) for name in lk}
    for group in hook.groups:  # one density and one initial mask per Rep pair (the "mean" init, #15)
        assert torch.equal(hook.masks[group[0]], hook.masks[group[1]])
    assert sum(counts.values()) == pytest.approx(0.7 * sum(hook.masks[n].numel() for n in lk), abs=len(lk))
    for step in range(4):
        opt.zero_grad()
        F.cross_entropy(net(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 3])).backward()
        opt.step()
        hook.step()
        for name in lk:
            weight, mask = dict(net.named_parameters())[name], hook.masks[name]
            assert mask.shape == (weight.shape[0],)  # one entry per 3x3 filter (coarse)
            assert (weight[~mask] == 0).all() and int(mask.sum()) == counts[name]
    assert hook.num_updates == 4
    # a pruned filter contributes nothing: zeroing it again changes no output
    x = torch.randn(1, 3, 32, 32)
    net.eval()
    with torch.no_grad():
        before = net(x)
        for name in lk:
            dict(net.named_parameters())[name][~hook.masks[name]] = 0
        assert torch.equal(net(x), before)


# -- heavy / GPU ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sw_tiny_deploy_equivalence_full_size():
    torch.manual_seed(0)
    model = randomize(ShiftWise('tiny', out_indices=(0, 1, 2, 3)).double()).eval()
    x = torch.randn(1, 3, 96, 96, dtype=torch.float64)
    expected = model(x)
    model.switch_to_deploy()
    for out, ref in zip(model(x), expected):
        assert rel_err(out, ref) <= 1e-10


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_operator_on_gpu_fp16_and_deterministic():
    op = make_op(64, 51).float().cuda()
    x = torch.randn(2, 64, 28, 28, device='cuda')
    ref = op(x)
    cpu = make_op(64, 51).float()
    assert rel_err(ref.cpu(), cpu(x.cpu())) < 1e-5
    with torch.autocast('cuda', dtype=torch.float16):
        assert rel_err(op(x).float(), ref) < 1e-2
    torch.use_deterministic_algorithms(True)
    try:
        op.train()
        grads = []
        for _ in range(2):
            op.zero_grad()
            xg = x.clone().requires_grad_()
            op(xg).square().sum().backward()
            grads.append(torch.cat([xg.grad.flatten(), op.lk_convs[0].weight.grad.flatten()]))
        assert torch.equal(grads[0], grads[1])
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.slow
def test_benchmark_measures_eager_and_compiled_in_one_run(tmp_path):
    benchmark = load_benchmark()
    path = tmp_path / 'ur.py'
    path.write_text("default_scope = 'largekernel'\n"
                    "model = dict(type='UniRepLKNet', arch='A', gap_before_final_norm=True)\n")
    rows = benchmark.main([str(path), '--batch-size', '2', '--shape', '32', '32', '--mode', 'deploy', '--iters', '1',
                           '--warmup', '1', '--device', 'cpu', '--compile', 'both'])
    assert [r['config'] for r in rows] == [str(path), f'{path} (compiled)']
    assert all(r['images_per_s'] > 0 for r in rows)
