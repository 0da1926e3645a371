"""Throughput (images/s) of the models of one or more configs, measured in the same run, with the ratio to a
baseline.

    python tools/analysis_tools/benchmark.py CONFIG [CONFIG ...] --batch-size 8 --shape 224 224 \\
        --mode deploy --iters 10 --warmup 2 [--baseline CONFIG] [--device cpu|cuda] [--amp bf16|fp16]
        [--compile [all|both]] [--cfg-options k=v ...] [--variant k=v ...] [--stream-ab]

The papers' protocols: RepLKNet Table 5 / ShiftwiseConv Table 7 time training and inference at batch 128, 224 x 224,
fp32, on one GPU; on CPU use a smaller batch. ``configs/_base_/models/timm-convnext-t.py`` is timm's ConvNeXt-T, the
baseline those tables compare against.

Each config's ``model`` is built with ``MODELS.build`` under the config's default scope (an mmpretrain
``ImageClassifier`` for the ImageNet configs, or any other model / bare backbone). Modes:

* ``deploy``: the inference structure: a training config is built and every largekernel backbone in it is
  re-parameterised (``switch_to_deploy()``); a deploy config is built as is. Forward only, ``torch.no_grad()``.
* ``inference``: the training structure in eval mode, forward only, ``torch.no_grad()``.
* ``train``: the training structure in train mode, forward + backward of the sum of the outputs (no optimizer).

Models deriving from mmengine's ``BaseModel`` are run with ``mode='tensor'`` (no data preprocessor: the input is
already a normalised random tensor); anything else with ``model(x)``. Timing: all models are built first; each runs
``warmup`` untimed iterations, then the ``iters`` timed iterations are interleaved (one of each model per round;
CUDA events with synchronisation on GPU) and images/s = batch size / median iteration time, so that load changes
on a shared machine affect all models alike. The baseline (if given) is listed first as 1.00x. ``--amp`` runs under
``torch.autocast`` (CPU: bf16 only); ``--compile`` wraps every model in ``torch.compile`` (the warm-up iterations
then include compilation), ``--compile both`` measures each config eager and compiled in the same run; ``--variant`` measures each config also with other
options in the same run (e.g. ``model.backbone.channels_last=False``), ``--stream-ab`` also without the FFN
streaming of eager CPU inference (``largekernel.models.layers.inference``). On CUDA the peak memory of each model's
iterations is reported.
"""
import argparse
import contextlib
import statistics
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.model import BaseModel

import largekernel  # noqa: F401  (registers the largekernel modules)
from largekernel.models.layers import inference
from largekernel.utils import build_model_from_config, count_params, largekernel_backbones

MODES = ('train', 'deploy', 'inference')
AMP = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def build_model(config, mode, cfg_options=None):
    """The config's model in the structure ``mode`` asks for (see the module docstring)."""
    cfg = Config.fromfile(config)
    model = build_model_from_config(cfg, cfg_options)  # merges cfg_options into cfg
    if mode == 'deploy':
        for backbone in largekernel_backbones(model):
            backbone.switch_to_deploy()
    in_channels = cfg.model.get('backbone', cfg.model).get('in_channels', 3)
    return model, in_channels


def _sum_outputs(out):
    if isinstance(out, torch.Tensor):
        return out.float().sum()
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return sum(_sum_outputs(o) for o in out)
    raise TypeError(f'cannot back-propagate through a model output of type {type(out).__name__}')


def make_step(model, mode, batch_size, in_channels, shape, device, amp=None, compile=False):
    """One benchmark iteration of ``model`` on a random ``(batch_size, in_channels, H, W)`` input."""
    model = model.to(device)
    model.train(mode == 'train')
    x = torch.randn(batch_size, in_channels, *shape, device=device)
    forward = torch.compile(model) if compile else model
    run = (lambda: forward(x, mode='tensor')) if isinstance(model, BaseModel) else (lambda: forward(x))

    def step():
        with torch.autocast(device.type, dtype=AMP[amp]) if amp else contextlib.nullcontext():
            if mode == 'train':
                model.zero_grad(set_to_none=True)
                loss = _sum_outputs(run())
            else:
                with torch.no_grad():
                    run()
        if mode == 'train':
            loss.backward()

    return step


def without_streaming(step):
    """``step`` with the FFN streaming of ``layers.inference`` off (its size threshold raised out of reach)."""
    def run():
        threshold, inference.STREAM_MIN_BYTES = inference.STREAM_MIN_BYTES, float('inf')
        try:
            step()
        finally:
            inference.STREAM_MIN_BYTES = threshold

    return run


def timed(step, device):
    """Seconds of one call of ``step``: CUDA events around it (synchronised) on GPU, wall time on CPU."""
    if device.type != 'cuda':
        start = time.perf_counter()
        step()
        return time.perf_counter() - start
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(device)
    start.record()
    step()
    end.record()
    torch.cuda.synchronize(device)
    return start.elapsed_time(end) / 1e3


def interleaved_times(steps, iters, warmup, device=torch.device('cpu')):
    """Seconds per iteration of every step, measured round-robin (one iteration of each model per round), so that
    load changes on a shared machine affect all models alike; and each step's peak CUDA memory (bytes; None on
    CPU)."""
    for step in steps:
        for _ in range(warmup):
            step()
    cuda = device.type == 'cuda'
    times, peaks = [[] for _ in steps], [0 if cuda else None for _ in steps]
    for _ in range(iters):
        for i, step in enumerate(steps):
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            times[i].append(timed(step, device))
            if cuda:
                peaks[i] = max(peaks[i], torch.cuda.max_memory_allocated(device))
    return times, peaks


def add_timing_args(parser, iters, warmup):
    """The arguments every throughput benchmark here shares: batch, input shape, iterations, device, autocast."""
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--iters', type=int, default=iters)
    parser.add_argument('--warmup', type=int, default=warmup)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', choices=sorted(AMP), help='run under torch.autocast with this dtype')


def check_timing_args(parser, args):
    """Stop with a message naming the value for the arguments of ``add_timing_args`` that cannot run."""
    for name in ('batch_size', 'iters'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if args.warmup < 0 or min(args.shape) < 1:
        parser.error(f'--warmup must be >= 0 and --shape positive, got {args.warmup} and {args.shape}')
    if args.amp == 'fp16' and torch.device(args.device).type == 'cpu':
        parser.error('--amp fp16 runs on CUDA only; on CPU use --amp bf16')
    return args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+')
    add_timing_args(parser, iters=10, warmup=2)
    parser.add_argument('--mode', choices=MODES, default='deploy')
    parser.add_argument('--baseline', help='config measured first; every row reports its ratio to it')
    parser.add_argument('--compile', nargs='?', const='all', choices=('all', 'both'),
                        help="torch.compile every model ('all', the default), or measure every config both eager "
                             "and compiled ('both', rows marked '(compiled)')")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='applied to every config')
    parser.add_argument('--variant', nargs='+', action=DictAction,
                        help="also measure every config with these options in the same run (an A/B test, e.g. "
                             "model.backbone.channels_last=False); rows marked '(+ key=value)'")
    parser.add_argument('--stream-ab', action='store_true',
                        help="also measure every config with the FFN streaming of eager CPU inference off "
                             "(layers.inference); rows marked '(FFN not streamed)'")
    return check_timing_args(parser, parser.parse_args(argv))


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    configs = ([args.baseline] if args.baseline else []) + list(args.configs)
    compiles = (False, True) if args.compile == 'both' else (args.compile == 'all',)
    options = [(args.cfg_options, '')]
    if args.variant:
        options.append(({**(args.cfg_options or {}), **args.variant},
                         ' (+ ' + ', '.join(f'{k}={v}' for k, v in args.variant.items()) + ')'))
    streams = (True, False) if args.stream_ab else (True,)
    variants = [(c, flag, opts, suffix, stream) for c in configs for flag in compiles for opts, suffix in options
                for stream in streams]
    steps, params, names = [], [], []
    for config, compile, cfg_options, suffix, stream in variants:
        model, in_channels = build_model(config, args.mode, cfg_options)
        params.append(count_params(model))
        names.append(config + (' (compiled)' if args.compile == 'both' and compile else '') + suffix +
                     ('' if stream else ' (FFN not streamed)'))
        step = make_step(model, args.mode, args.batch_size, in_channels, args.shape, device, args.amp, compile)
        steps.append(step if stream else without_streaming(step))
    times, peaks = interleaved_times(steps, args.iters, args.warmup, device)
    speeds = [args.batch_size / statistics.median(t) for t in times]
    base = speeds[0] if args.baseline else None
    precision = f'autocast {args.amp}' if args.amp else 'fp32'
    compiled = {None: '', 'all': ', torch.compile', 'both': ', eager and torch.compile'}[args.compile]
    print(f'mode {args.mode}, device {device}, {precision}{compiled}, batch '
          f'{args.batch_size}, input {tuple(args.shape)}, {args.iters} interleaved iterations after {args.warmup} '
          f'warm-up, median time, torch {torch.__version__}, threads {torch.get_num_threads()}')
    width = max(len(c) for c in names) + (len(' (baseline)') if args.baseline else 0)
    memory = device.type == 'cuda'
    print(f'{"config":<{width}}  {"params":>9}  {"images/s":>10}  {"vs baseline":>11}' +
          (f'  {"peak MiB":>9}' if memory else ''))
    for i, (config, n, speed, peak) in enumerate(zip(names, params, speeds, peaks)):
        ratio = f'{speed / base:.2f}x' if base else '-'
        name = f'{config} (baseline)' if args.baseline and i == 0 else config
        print(f'{name:<{width}}  {n / 1e6:>8.2f}M  {speed:>10.2f}  {ratio:>11}' +
              (f'  {peak / 2 ** 20:>9.0f}' if memory else ''))
    return [dict(config=c, params=n, images_per_s=v, ratio=(v / base if base else None), peak_bytes=m)
            for c, n, v, m in zip(names, params, speeds, peaks)]


if __name__ == '__main__':
    main()
