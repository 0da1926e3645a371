"""Latency of stacks of depthwise convolutions, native PyTorch vs ours (RepLKNet Table 1 protocol).

    python tools/analysis_tools/benchmark_dwconv.py [--preset table1|widths|unireplknet-t|smoke]
        [--mode forward train] [--impls native cpu triton igemm] [--amp fp16|bf16] [--channels-last] [--compile]
        [--iters 10] [--warmup 3] [--time-limit SECONDS] [--out FILE.md]

RepLKNet's Table 1 (repeated in UniRepLKNet §3.1.1) times a stack of 24 depthwise layers on a ``(64, 384, R, R)``
input for R in {16, 32, 64} and K in {3, 5, 7, 9, 13, 17, 21, 27, 29, 31} (preset ``table1``); ``widths`` uses the
stage widths, resolutions (224 input, batch 64) and kernels of RepLKNet-31B and SLaK-T's first-stage strips;
``unireplknet-t`` the depthwise convs of a UniRepLKNet-T training step at batch 8 (the 13 x 13 kernels of stages 2-4
and the Dilated Reparam Block branches of stage 3, ``3d4`` = 3 x 3 with dilation 4), for CPU; ``smoke`` is a tiny
CPU check of the script.
``--batch``, ``--channels``, ``--resolutions``, ``--kernels`` and ``--layers`` override a preset's values.

Modes: ``forward`` (inference, ``torch.no_grad()``, as in Table 1) and ``train`` (forward + backward of every
layer: input and weight gradients). For each configuration the implementations get the same weights and input;
after ``warmup`` untimed iterations, the timed iterations are interleaved (one of each implementation per round)
and the median is reported, so load changes affect all alike. On CUDA: CUDA events with synchronisation, peak
memory (``max_memory_allocated``), the minimum bytes the stack must move (each layer reads its input and writes
its output; training also reads ``dy`` and ``x`` and writes ``dx``) and the achieved bandwidth against the
theoretical DRAM bandwidth of the device (2 x memory clock x bus width). ``--channels-last`` feeds channels-last
input (the layout inside the backbones, whose LayerNorms leave it). The Triton kernels need CUDA: on CPU ``native``
and ``cpu`` (``layers.depthwise``) run. Writes a markdown table (stdout, and ``--out``).
"""
import argparse
import contextlib
import importlib
import statistics
import sys
import time

import torch
from torch import nn

from largekernel.models.layers.lk_conv import build_depthwise_conv
from largekernel.models.layers.triton_dwconv import triton_available

TABLE1_KERNELS = (3, 5, 7, 9, 13, 17, 21, 27, 29, 31)
# (channels, resolution, kernel): RepLKNet-31B stages at 224 (kernels 31, 29, 27, 13) and the 51 x 5 / 5 x 51 strips
# of SLaK-T's first stage (width 1.3 x 96)
WIDTHS = ((128, 56, 31), (256, 28, 29), (512, 14, 27), (1024, 7, 13), (124, 56, (51, 5)), (124, 56, (5, 51)))
PRESETS = {
    'table1': dict(batch=64, layers=24, configs=[(384, r, k) for r in (16, 32, 64) for k in TABLE1_KERNELS]),
    'widths': dict(batch=64, layers=24, configs=list(WIDTHS)),
    'unireplknet-t': dict(batch=8, layers=4, configs=[
        (160, 28, 13), (320, 14, 13), (640, 7, 13), (320, 14, 5), (320, 14, 7, 2), (320, 14, 3, 3), (320, 14, 3, 4),
        (320, 14, 3, 5), (80, 56, 3)]),
    'smoke': dict(batch=2, layers=2, configs=[(8, 8, 3), (8, 8, 7), (8, 8, (7, 3)), (8, 8, 3, 2)]),
}
AMP = {'fp16': torch.float16, 'bf16': torch.bfloat16}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--preset', choices=sorted(PRESETS), default='table1')
    parser.add_argument('--batch', type=int, help="override the preset's batch size")
    parser.add_argument('--channels', type=int, help="override the preset's channels")
    parser.add_argument('--resolutions', type=int, nargs='+', help="override the preset's resolutions R")
    parser.add_argument('--kernels', type=int, nargs='+', help="override the preset's (square) kernel sizes")
    parser.add_argument('--layers', type=int, help='depthwise layers in the stack (24 in Table 1)')
    parser.add_argument('--mode', nargs='+', choices=('forward', 'train'), default=['forward', 'train'])
    parser.add_argument('--impls', nargs='+', choices=('native', 'cpu', 'triton', 'igemm'),
                        help='default: native, plus triton (CUDA) and igemm (if installed); on CPU native and cpu')
    parser.add_argument('--channels-last', action='store_true', help='channels-last input')
    parser.add_argument('--amp', choices=sorted(AMP), help='run under torch.autocast with this dtype')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile every stack (the Triton and CPU convs then run as nn.Conv2d)')
    parser.add_argument('--device', choices=('cuda', 'cpu'), default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations per implementation (at most)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--max-seconds', type=float, default=10.0,
                        help='per configuration and implementation: fewer timed iterations (at least 3) when one '
                             'takes longer than max-seconds / iters')
    parser.add_argument('--time-limit', type=float, help='start no new configuration after this many seconds')
    parser.add_argument('--cudnn-benchmark', action='store_true', help='torch.backends.cudnn.benchmark = True')
    parser.add_argument('--out', help='also write the markdown table to this file')
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch.cuda.is_available() is False; use --device cpu (native only)')
    if args.iters < 1 or args.warmup < 0:
        parser.error(f'--iters must be >= 1 and --warmup >= 0, got {args.iters} and {args.warmup}')
    return args


def configs(args):
    """``(batch, channels, resolution, (k_h, k_w), dilation, layers)`` of every benchmarked stack."""
    preset = PRESETS[args.preset]
    rows = [row + (1,) * (4 - len(row)) for row in preset['configs']]  # (channels, resolution, kernel, dilation)
    if args.channels or args.resolutions or args.kernels:
        channels = args.channels or sorted({row[0] for row in rows})[0]
        resolutions = args.resolutions or sorted({row[1] for row in rows})
        kernels = args.kernels or [k for k in dict.fromkeys(row[2] for row in rows)]
        rows = [(channels, r, k, 1) for r in resolutions for k in kernels]
    batch, layers = args.batch or preset['batch'], args.layers or preset['layers']
    return [(batch, c, r, (k, k) if isinstance(k, int) else tuple(k), d, layers) for c, r, k, d in rows]


def available_impls(args):
    """The implementations to compare, and a note on those left out."""
    notes = []
    if args.impls:
        impls = list(args.impls)
        if args.device == 'cpu' and set(impls) - {'native', 'cpu'}:
            sys.exit(f'benchmark_dwconv.py: {sorted(set(impls) - {"native", "cpu"})} need CUDA; on CPU native and '
                     'cpu run')
        return impls, notes
    impls = ['native']
    if args.device == 'cpu':
        notes.append('CPU: native and cpu (layers.depthwise) run; the Triton and iGEMM kernels need CUDA.')
        return impls + ['cpu'], notes
    if triton_available():
        impls.append('triton')
    else:
        notes.append('triton is not importable: native only.')
    try:
        importlib.import_module('depthwise_conv2d_implicit_gemm')
        impls.append('igemm')
    except ImportError:
        notes.append('igemm (depthwise_conv2d_implicit_gemm) is not installed: not compared.')
    return impls, notes


def build_stack(impl, channels, kernel, layers, device, seed=0, dilation=1):
    """``layers`` bias-free depthwise convs of ``impl``; the same weights for every impl (seeded). None for the
    kernels iGEMM and Triton do not cover (iGEMM: undilated squares larger than 5; Triton: undilated)."""
    if impl == 'igemm' and (kernel[0] != kernel[1] or kernel[0] <= 5) or impl in ('igemm', 'triton') and dilation > 1:
        return None
    generator = torch.Generator().manual_seed(seed)
    stack = nn.Sequential(*(build_depthwise_conv(channels, kernel, impl=impl, dilation=dilation)
                            for _ in range(layers)))
    with torch.no_grad():
        for conv in stack:  # unit gain: activations neither vanish nor blow up through the stack
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) / (kernel[0] * kernel[1]) ** 0.5)
    return stack.to(device)


class Timer:
    """One iteration's wall time in ms: CUDA events (synchronised) on GPU, perf_counter on CPU."""

    def __init__(self, device):
        self.cuda = device == 'cuda'

    def __call__(self, fn):
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end)
        begin = time.perf_counter()
        fn()
        return (time.perf_counter() - begin) * 1e3


def make_step(stack, x, mode, amp):
    grad = torch.ones_like(x, dtype=AMP[amp] if amp else x.dtype) if mode == 'train' else None
    device_type = x.device.type

    def step():
        with torch.autocast(device_type, dtype=AMP[amp]) if amp else contextlib.nullcontext():
            if mode == 'forward':
                with torch.no_grad():
                    stack(x)
                return
            out = stack(x)
        out.backward(grad)
        x.grad = None
        stack.zero_grad(set_to_none=True)

    return step


def min_bytes(batch, channels, resolution, kernel, layers, mode, itemsize):
    """Bytes a stack must move at least: per layer, read x and write y (+ the weights); training adds reading
    dy and x and writing dx (the weight gradient is small)."""
    activation = batch * channels * resolution * resolution * itemsize
    weights = channels * kernel[0] * kernel[1] * itemsize
    return layers * ((2 if mode == 'forward' else 5) * activation + weights)


def peak_bandwidth():
    """Theoretical DRAM bandwidth (bytes/s) of the current CUDA device, or None if torch does not report it."""
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    clock, width = getattr(props, 'memory_clock_rate', 0), getattr(props, 'memory_bus_width', 0)
    return 2 * clock * 1e3 * width / 8 if clock and width else None


def bench_config(impls, config, mode, args, timer):
    """``({impl: median ms}, {impl: peak bytes}, timed iterations)`` of one stack configuration."""
    batch, channels, resolution, kernel, dilation, layers = config
    x = torch.randn(batch, channels, resolution, resolution, device=args.device)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(mode == 'train')
    stacks = {impl: build_stack(impl, channels, kernel, layers, args.device, dilation=dilation) for impl in impls}
    if args.compile:
        stacks = {impl: stack if stack is None else torch.compile(stack) for impl, stack in stacks.items()}
    steps = {impl: make_step(stack, x, mode, args.amp) for impl, stack in stacks.items() if stack is not None}
    cuda = args.device == 'cuda'
    times, peaks, iters = {impl: [] for impl in steps}, dict.fromkeys(steps, 0), args.iters
    for step in steps.values():
        for _ in range(args.warmup):  # the first call compiles; a slow configuration skips the rest of its warmup
            if timer(step) * iters > args.max_seconds * 1e3:
                break
        iters = max(min(3, args.iters), min(iters, int(args.max_seconds * 1e3 / max(timer(step), 1e-3))))
    for _ in range(iters):
        for impl, step in steps.items():
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            times[impl].append(timer(step))
            if cuda:
                peaks[impl] = max(peaks[impl], torch.cuda.max_memory_allocated())
    return {impl: statistics.median(t) for impl, t in times.items()}, peaks, iters


class Table:
    """The markdown table, one row per (configuration, mode); on CUDA with memory and bandwidth columns."""

    def __init__(self, impls, args, notes, bandwidth, device_name):
        self.impls, self.args, self.bandwidth = impls, args, bandwidth
        self.cuda = args.device == 'cuda'
        self.itemsize = AMP[args.amp].itemsize if args.amp else 4
        head = ['N', 'C', 'R', 'K', 'layers', 'mode', 'iters'] + [f'{i} (ms)' for i in impls]
        head += [f'{i} vs native' for i in impls if i != 'native']
        if self.cuda:
            head += [f'{i} peak (MiB)' for i in impls] + ['min traffic (MB)']
            head += ['bandwidth bound (ms)'] * (bandwidth is not None) + [f'{i} GB/s' for i in impls]
        self.width = len(head)
        precision = ((f'autocast {args.amp}' if args.amp else 'fp32') + (', channels-last' * args.channels_last)
                     + (', torch.compile' * args.compile))
        title = [f'Depthwise conv stacks on {device_name} ({precision}, torch {torch.__version__}; median of '
                 f'interleaved iterations; preset {args.preset})']
        if bandwidth is not None:
            title.append(f'Theoretical DRAM bandwidth {bandwidth / 1e9:.0f} GB/s.')
        self.header = '\n'.join(title + notes + ['', '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)])

    def row(self, config, mode, result):
        """A row; ``result`` is ``bench_config``'s, or None for a configuration left out (time limit)."""
        batch, channels, resolution, kernel, dilation, layers = config
        k = (f'{kernel[0]}' if kernel[0] == kernel[1] else f'{kernel[0]}x{kernel[1]}') + (f'd{dilation}' if dilation > 1
                                                                                          else '')
        cells = [str(batch), str(channels), str(resolution), k, str(layers), mode]
        if result is None:
            return '| ' + ' | '.join(cells + ['not run (time limit)'] + [''] * (self.width - 7)) + ' |'
        times, peaks, iters = result
        impls = self.impls
        cells += [str(iters)] + [f'{times[i]:.2f}' if i in times else 'n/a' for i in impls]
        cells += [f"{times['native'] / times[i]:.2f}x" if i in times and 'native' in times else 'n/a'
                  for i in impls if i != 'native']
        if self.cuda:
            traffic = min_bytes(batch, channels, resolution, kernel, layers, mode, self.itemsize)
            cells += [f'{peaks[i] / 2 ** 20:.0f}' if i in peaks else 'n/a' for i in impls] + [f'{traffic / 1e6:.0f}']
            if self.bandwidth is not None:
                cells.append(f'{traffic / self.bandwidth * 1e3:.2f}')
            cells += [f'{traffic / times[i] / 1e6:.0f}' if i in times else 'n/a' for i in impls]
        return '| ' + ' | '.join(cells) + ' |'


def main(argv=None):
    args = parse_args(argv)
    impls, notes = available_impls(args)
    for note in notes:
        print(note, file=sys.stderr)
    cuda = args.device == 'cuda'
    if cuda:
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
        notes.append(f'cuDNN benchmark mode {args.cudnn_benchmark}, TF32 convolutions allowed '
                     f'{torch.backends.cudnn.allow_tf32}.')
    table = Table(impls, args, notes, peak_bandwidth() if cuda else None,
                  torch.cuda.get_device_name() if cuda else 'CPU')
    lines = [table.header]
    print(table.header, flush=True)  # rows follow as they are measured: a killed run keeps what it measured
    timer, start = Timer(args.device), time.perf_counter()
    for config in configs(args):
        for mode in args.mode:
            late = args.time_limit is not None and time.perf_counter() - start > args.time_limit
            lines.append(table.row(config, mode, None if late else bench_config(impls, config, mode, args, timer)))
            print(lines[-1], flush=True)
            if cuda:
                torch.cuda.empty_cache()
    if args.out:
        with open(args.out, 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
