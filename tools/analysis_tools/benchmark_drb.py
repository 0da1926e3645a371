"""Training memory and throughput of the Dilated Reparam Block against a single large-kernel conv + BN (UniRepLKNet
Table 18 protocol: UniRepLKNet-S training at 224 x 224; the paper used batch 4096 on eight A100s).

    python tools/analysis_tools/benchmark_drb.py [--arch S] [--batch-size 8] [--shape 224 224] [--iters 5]
        [--warmup 1] [--device cpu|cuda] [--amp bf16|fp16]

Both variants are ``UniRepLKNet(arch, gap_before_final_norm=True)`` with a 1000-class linear head, in training
form: ``drb_variant='dilated'`` (the DRB, default) and ``'none'`` (one K x K depthwise conv + BN, the paper's
cheaper alternative for bigger models; UniRepLKNet Table 3b "None"). Each iteration is forward + backward of the
summed logits, timed interleaved like ``benchmark.py`` (median). Memory: the bytes of the activations autograd
saves for the backward pass (parameters excluded; device independent, so CPU runs report it too) and, on CUDA,
the peak allocated memory of an iteration.
"""
import argparse
import os.path as osp
import statistics
import sys

import torch
from torch import nn

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark import AMP, add_timing_args, check_timing_args, interleaved_times, make_step  # noqa: E402

import largekernel  # noqa: E402,F401
from largekernel.models import UniRepLKNet  # noqa: E402
from largekernel.utils import count_params  # noqa: E402

VARIANTS = {'Dilated Reparam Block': 'dilated', 'single large-kernel conv + BN': 'none'}


def build(arch, drb_variant):
    torch.manual_seed(0)
    backbone = UniRepLKNet(arch, gap_before_final_norm=True, drb_variant=drb_variant)
    return nn.Sequential(backbone, _First(), nn.Linear(backbone.channels[-1], 1000))


class _First(nn.Module):
    """The backbone's single output out of its tuple."""

    def forward(self, outs):
        return outs[-1]


def saved_activation_bytes(model, x, amp=None):
    """Bytes of the distinct tensor storages autograd saves for backward in one forward (parameters excluded)."""
    seen = {p.untyped_storage().data_ptr() for p in model.parameters()}
    total = 0

    def pack(tensor):
        nonlocal total
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
        return tensor

    model.train()
    autocast = torch.autocast(x.device.type, dtype=AMP.get(amp), enabled=amp is not None)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), autocast:
        model(x)
    return total


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--arch', default='S', help='UniRepLKNet arch (Table 18: S)')
    add_timing_args(parser, iters=5, warmup=1)
    return check_timing_args(parser, parser.parse_args(argv))


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    models = {name: build(args.arch, variant).to(device) for name, variant in VARIANTS.items()}
    x = torch.randn(args.batch_size, 3, *args.shape, device=device)
    saved = {name: saved_activation_bytes(m, x, args.amp) for name, m in models.items()}
    steps = [make_step(m, 'train', args.batch_size, 3, args.shape, device, args.amp) for m in models.values()]
    times, peaks = interleaved_times(steps, args.iters, args.warmup, device)
    speeds = [args.batch_size / statistics.median(t) for t in times]
    precision = f'autocast {args.amp}' if args.amp else 'fp32'
    lines = [f'UniRepLKNet-{args.arch} training (forward + backward), {device}, {precision}, batch {args.batch_size}, '
             f'input {tuple(args.shape)}, median of {args.iters} interleaved iterations, torch {torch.__version__}',
             '', '| block | params | images/s | vs DRB | saved activations (MiB) | vs DRB |' +
             (' peak memory (MiB) |' if device.type == 'cuda' else ''),
             '|---|---|---|---|---|---|' + ('---|' if device.type == 'cuda' else '')]
    names = list(models)
    for name, speed, peak in zip(names, speeds, peaks):
        cells = [name, f'{count_params(models[name]) / 1e6:.2f}M', f'{speed:.2f}', f'{speed / speeds[0]:.2f}x',
                 f'{saved[name] / 2 ** 20:.0f}', f'{saved[name] / saved[names[0]]:.2f}x']
        if device.type == 'cuda':
            cells.append(f'{peak / 2 ** 20:.0f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    print('\n'.join(lines))
    return [dict(block=n, images_per_s=v, saved_bytes=saved[n], peak_bytes=p) for n, v, p in zip(names, speeds, peaks)]


if __name__ == '__main__':
    main()
