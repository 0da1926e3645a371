"""The Triton depthwise conv (``impl='triton'``): kernels checked under Triton's interpreter on CPU, dispatch,
re-parameterisation, logging and the errors.

The interpreter must be switched on before Triton is first imported, so the kernel checks run in one subprocess
(``triton_dwconv_cases.py``; the rest of the suite keeps the compiled Triton) and each is reported here as a test.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest
import torch
from torch import nn

from conftest import ROOT
from largekernel.models.backbones.unireplknet import UniRepLKNet
from largekernel.models.layers import lk_conv, triton_dwconv
from largekernel.models.layers.depthwise import CPUDepthwiseConv2d
from largekernel.models.layers.lk_conv import build_depthwise_conv, conv_impl
from largekernel.models.layers.reparam import ConvBN, conv_from_kernel
from largekernel.models.layers.triton_dwconv import TritonDepthwiseConv2d, depthwise_conv2d
from triton_dwconv_cases import CASES, EXTRA, TOLERANCE

pytestmark = pytest.mark.usefixtures('single_thread')


@pytest.fixture(scope='module')
def interpreted(tmp_path_factory):
    """Results of every check in ``triton_dwconv_cases.py``, run once under the interpreter."""
    out = tmp_path_factory.mktemp('triton') / 'results.json'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get('PYTHONPATH', '')]), OMP_NUM_THREADS='1')
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'triton_dwconv_cases.py'), '--json', str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if not out.exists():
        pytest.fail(f'the interpreter checks did not finish:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
    return {r['name']: r for r in json.loads(out.read_text())}


@pytest.mark.parametrize('name', [*CASES, *EXTRA])
def test_matches_conv2d_under_the_interpreter(interpreted, name):
    result = interpreted[name]
    assert result['layout_dtype_finite_ok'], result
    bad = {k: e for k, e in result['errors'].items() if not e <= TOLERANCE[result['dtype']]}
    assert not bad, f'{name}: relative errors {bad} exceed {TOLERANCE[result["dtype"]]}'


def test_cases_cover_kernels_dtypes_and_layouts():
    """Square kernels 3 to 13, strips both ways, maps smaller than the kernel, every dtype and layout."""
    kernels = {kernel for _, kernel, *_ in CASES.values()}
    assert {(3, 3), (5, 5), (7, 7), (13, 13), (5, 1), (1, 5), (7, 3)} <= kernels
    assert any(h < k_h or w < k_w for (_, _, h, w), (k_h, k_w), *_ in CASES.values())
    assert {dtype for *_, dtype, _, _ in CASES.values()} == set(TOLERANCE)
    assert {(cl, bias) for *_, cl, bias in CASES.values()} == {(False, False), (False, True), (True, False),
                                                               (True, True)}


# -- dispatch -------------------------------------------------------------------------------------------------------
def test_same_parameters_as_native():
    native = build_depthwise_conv(6, (7, 3), bias=True, impl='native')
    ours = TritonDepthwiseConv2d(6, 6, (7, 3), groups=6, bias=True)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in native.state_dict().items()}
    assert (ours.padding, ours.stride, ours.dilation, ours.groups) == (native.padding, (1, 1), (1, 1), 6)
    ours.load_state_dict(native.state_dict())


@pytest.mark.parametrize('kernel, padding', [(13, None), ((31, 5), None), (5, None), (7, (2, 2))])
def test_auto_does_not_pick_the_unmeasured_triton_kernel(monkeypatch, kernel, padding):
    """Until the GPU report has measured it, Triton is opt-in: ``auto`` gives ``nn.Conv2d`` even on CUDA."""
    monkeypatch.setattr(lk_conv, '_igemm_class', lambda: None)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert type(build_depthwise_conv(4, kernel, impl='auto', padding=padding)) is nn.Conv2d


def test_auto_prefers_an_installed_igemm_extension(monkeypatch):
    class FakeIGEMM(nn.Conv2d):
        def __init__(self, channels, kernel_size, bias):
            super().__init__(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=bias)

    monkeypatch.setattr(lk_conv, '_igemm_class', lambda: FakeIGEMM)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert type(build_depthwise_conv(4, 13, impl='auto')) is FakeIGEMM
    assert type(build_depthwise_conv(4, (13, 5), impl='auto')) is nn.Conv2d  # igemm: squares only
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert type(build_depthwise_conv(4, 13, impl='auto')) is CPUDepthwiseConv2d  # no CUDA: the CPU path


def test_reparameterisation_keeps_the_triton_conv(monkeypatch):
    monkeypatch.setattr(triton_dwconv.triton_kernels(), 'INTERPRETED', True)  # build as under the interpreter
    unit = ConvBN(4, 4, 7, groups=4, conv=build_depthwise_conv(4, 7, impl='triton'))
    unit.eval()
    weight, bias = unit.fused()
    unit.reparameterize()
    assert type(unit.conv) is TritonDepthwiseConv2d and unit.conv.padding == (3, 3)
    assert torch.equal(unit.conv.weight, weight) and torch.equal(unit.conv.bias, bias)
    strip = conv_from_kernel(torch.randn(4, 1, 9, 3), like=TritonDepthwiseConv2d(4, 4, (9, 3), groups=4))
    assert type(strip) is TritonDepthwiseConv2d and strip.bias is None


def test_backbones_log_the_implementation(monkeypatch):
    messages = []
    monkeypatch.setattr(lk_conv, 'print_log', lambda msg, logger=None: messages.append(msg))
    monkeypatch.setattr(lk_conv, '_LOGGED', set())
    arch = dict(depths=(1, 1, 1, 1), dims=(4, 8, 8, 8), kernel_sizes=((7,), (13,), (5,), (3,)))
    UniRepLKNet(arch=arch, conv_impl='native')
    UniRepLKNet(arch=arch, conv_impl='native')  # the same line is logged once
    assert messages == ['UniRepLKNet: depthwise convs larger than 5x5: 2 native']  # 7 and 13; not dilated branches


# -- errors ---------------------------------------------------------------------------------------------------------
def test_triton_without_cuda_outside_the_interpreter(monkeypatch):
    monkeypatch.setattr(triton_dwconv.triton_kernels(), 'INTERPRETED', False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match=r"needs a CUDA device.*impl='native'.*TRITON_INTERPRET=1"):
        build_depthwise_conv(4, 13, impl='triton')
    conv = TritonDepthwiseConv2d(4, 4, 13, groups=4)
    with pytest.raises(RuntimeError, match='needs a CUDA device'):
        conv(torch.randn(1, 4, 8, 8))


def test_cpu_tensor_outside_the_interpreter(monkeypatch):
    monkeypatch.setattr(triton_dwconv.triton_kernels(), 'INTERPRETED', False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    with pytest.raises(RuntimeError, match=r"input on cpu.*CUDA tensors.*impl='native'"):
        TritonDepthwiseConv2d(4, 4, 13, groups=4)(torch.randn(1, 4, 8, 8))


def test_triton_not_importable(monkeypatch):
    monkeypatch.setitem(sys.modules, 'triton', None)
    monkeypatch.delitem(sys.modules, triton_dwconv._KERNELS)
    with pytest.raises(ImportError, match=r"impl='triton' needs the 'triton' package.*impl='native'"):
        build_depthwise_conv(4, 13, impl='triton')
    assert not triton_dwconv.triton_available()


def test_igemm_not_installed():
    if lk_conv._igemm_class() is not None:
        pytest.skip('the iGEMM extension is installed')
    with pytest.raises(ImportError, match=r"depthwise_conv2d_implicit_gemm.*'triton' or 'native'"):
        build_depthwise_conv(4, 13, impl='igemm')


@pytest.mark.parametrize('dtype', [torch.float64, torch.int32])
def test_unsupported_dtype(dtype):
    x, weight = torch.ones(1, 2, 4, 4, dtype=dtype), torch.ones(2, 1, 3, 3, dtype=dtype)
    with pytest.raises(TypeError, match=rf'unsupported dtype {dtype}; supported: fp32, fp16, bf16'):
        depthwise_conv2d(x, weight)


def test_mixed_dtypes():
    with pytest.raises(TypeError, match='input is torch.float16 but weight/bias are'):
        depthwise_conv2d(torch.ones(1, 2, 4, 4, dtype=torch.float16), torch.ones(2, 1, 3, 3))


@pytest.mark.parametrize('weight_shape', [(3, 1, 3, 3), (2, 2, 3, 3), (2, 1, 4, 3)])
def test_bad_weight(weight_shape):
    with pytest.raises(ValueError, match=re.escape(f'weight of shape {weight_shape} does not fit a depthwise conv of '
                                                   '2 channels; expected (2, 1, k_h, k_w) with odd k_h, k_w')):
        depthwise_conv2d(torch.ones(1, 2, 4, 4), torch.ones(weight_shape))


@pytest.mark.parametrize('kwargs, bad', [
    (dict(stride=2), "'stride': 2"), (dict(dilation=2), "'dilation': 2"), (dict(groups=1), "'groups': 1"),
    (dict(out_channels=8), "'out_channels': 8"), (dict(kernel_size=4), "'kernel_size': (4, 4)"),
    (dict(padding=0), "'padding': (0, 0)"), (dict(padding_mode='reflect'), "'padding_mode': 'reflect'"),
])
def test_unsupported_geometry(kwargs, bad):
    args = {**dict(in_channels=4, out_channels=4, kernel_size=7, groups=4), **kwargs}
    with pytest.raises(ValueError, match=r'TritonDepthwiseConv2d supports odd kernel sides') as err:
        TritonDepthwiseConv2d(**args)
    assert bad in str(err.value) and "impl='native'" in str(err.value)


@pytest.mark.parametrize('kernel, padding', [((6, 6), None), ((7, 3), (3, 3)), (7, (1, 2))])
def test_build_refuses_what_triton_does_not_cover(kernel, padding):
    with pytest.raises(ValueError, match=r"impl='triton' supports odd kernel sides with 'same' padding"):
        build_depthwise_conv(4, kernel, impl='triton', padding=padding)


# -- tools/analysis_tools/benchmark_dwconv.py and gpu_report.sh ------------------------------------------------------
@pytest.fixture(scope='module')
def benchmark():
    spec = importlib.util.spec_from_file_location('benchmark_dwconv', 'tools/analysis_tools/benchmark_dwconv.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_native_and_cpu_on_cpu(benchmark, tmp_path, capsys):
    out = tmp_path / 'table.md'
    table = benchmark.main(['--device', 'cpu', '--preset', 'smoke', '--iters', '2', '--warmup', '1',
                            '--mode', 'train', '--channels-last', '--out', str(out)])
    assert 'CPU: native and cpu (layers.depthwise) run' in capsys.readouterr().err
    assert 'fp32, channels-last' in table
    rows = [line.split(' | ') for line in table.splitlines() if line.startswith('| 2 |')]
    assert [(r[3], r[5]) for r in rows] == [('3', 'train'), ('7', 'train'), ('7x3', 'train'), ('3d2', 'train')]
    native, cpu, ratio = ([float(r[i].rstrip(' |x')) for r in rows] for i in (7, 8, 9))
    assert min(native + cpu) > 0
    # Times and ratio are printed to two decimals: the ratio must lie within the rounding interval.
    for n, c, r in zip(native, cpu, ratio):
        assert (n - 0.005) / (c + 0.005) - 0.005 <= r <= (n + 0.005) / (c - 0.005) + 0.005, (n, c, r)
    assert out.read_text() == table + '\n'


def test_benchmark_refuses_triton_on_cpu(benchmark):
    with pytest.raises(SystemExit, match=r"\['triton'\] need CUDA; on CPU native and cpu run"):
        benchmark.main(['--device', 'cpu', '--impls', 'native', 'triton'])


def test_benchmark_cuda_columns(benchmark):
    """Speed-up, peak memory, minimum traffic, bandwidth bound and achieved bandwidth of one row."""
    args = benchmark.parse_args(['--device', 'cpu', '--preset', 'smoke'])
    args.device = 'cuda'
    table = benchmark.Table(['native', 'triton'], args, [], 1e12, 'GPU')
    config = (64, 384, 32, (31, 31), 1, 24)
    row = table.row(config, 'forward', ({'native': 40.0, 'triton': 10.0}, {'native': 2 ** 30, 'triton': 2 ** 29}, 5))
    traffic = 24 * (2 * 64 * 384 * 32 * 32 * 4 + 384 * 31 * 31 * 4)
    assert row == (f'| 64 | 384 | 32 | 31 | 24 | forward | 5 | 40.00 | 10.00 | 4.00x | 1024 | 512 | '
                   f'{traffic / 1e6:.0f} | {traffic / 1e12 * 1e3:.2f} | {traffic / 40e6:.0f} | {traffic / 10e6:.0f} |')
    assert table.header.count('|---') == row.count(' | ') + 1
    assert 'not run (time limit)' in table.row(config, 'train', None)


def test_table1_preset_is_the_papers_grid(benchmark):
    args = benchmark.parse_args(['--device', 'cpu'])
    rows = benchmark.configs(args)
    assert {(n, c, d, layers) for n, c, _, _, d, layers in rows} == {(64, 384, 1, 24)}
    assert sorted({r for _, _, r, _, _, _ in rows}) == [16, 32, 64]
    assert [k for _, _, r, (k, _), _, _ in rows if r == 16] == [3, 5, 7, 9, 13, 17, 21, 27, 29, 31]


def test_gpu_report_fails_clearly_without_a_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('a GPU is present')
    result = subprocess.run(['bash', 'tools/analysis_tools/gpu_report.sh', str(tmp_path / 'report.md')], cwd=ROOT,
                            env=dict(os.environ, PYTHON=sys.executable), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert 'gpu_report.sh: needs a CUDA GPU: torch.cuda.is_available() is False' in result.stderr
    assert not (tmp_path / 'report.md').exists()


def test_gpu_report_fits_in_eight_minutes_and_names_real_files():
    with open(os.path.join(ROOT, 'tools', 'analysis_tools', 'gpu_report.sh')) as f:
        script = f.read()
    limits = [int(n) for n in re.findall(r'^step "[^"]+" (\d+)', script, re.M)]
    assert len(limits) == 8 and sum(limits) <= 8 * 60
    paths = set(re.findall(r'(?:configs|tools|tests)/[\w./-]+\.(?:py|sh)', script))
    assert paths and all(os.path.isfile(os.path.join(ROOT, p)) for p in paths), sorted(paths)


def test_tracing_and_export_use_the_native_conv(monkeypatch):
    """The graphs hold a plain ``conv2d`` (for ONNX and other runtimes); no CUDA needed."""
    monkeypatch.setattr(triton_dwconv.triton_kernels(), 'INTERPRETED', False)
    conv, x = TritonDepthwiseConv2d(3, 3, (7, 3), groups=3), torch.randn(1, 3, 8, 8)
    expected = nn.functional.conv2d(x, conv.weight, conv.bias, padding=(3, 1), groups=3)
    assert torch.allclose(torch.jit.trace(conv, x, check_trace=False)(x), expected)
    exported = torch.export.export(conv, (x,))
    assert [str(n.target) for n in exported.graph.nodes if n.op == 'call_function'] == ['aten.conv2d.default']
