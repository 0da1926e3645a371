"""Throughput (images/s) of the models of one or more configs, measured in the same run, with the ratio to a
baseline.

    python tools/analysis_tools/benchmark.py CONFIG [CONFIG ...] --batch-size 8 --shape 224 224 \\
        --mode deploy --iters 10 --warmup 2 [--baseline CONFIG] [--device cpu|cuda] [--cfg-options k=v ...]

Each config's ``model`` is built with ``MODELS.build`` under the config's default scope (an mmpretrain
``ImageClassifier`` for the ImageNet configs, or any other model / bare backbone). Modes:

* ``deploy``: the inference structure: a training config is built and every largekernel backbone in it is
  re-parameterised (``switch_to_deploy()``); a deploy config is built as is. Forward only, ``torch.no_grad()``.
* ``inference``: the training structure in eval mode, forward only, ``torch.no_grad()``.
* ``train``: the training structure in train mode, forward + backward of the sum of the outputs (no optimizer).

Models deriving from mmengine's ``BaseModel`` are run with ``mode='tensor'`` (no data preprocessor: the input is
already a normalised random tensor); anything else with ``model(x)``. Timing: all models are built first; each runs
``warmup`` untimed iterations, then the ``iters`` timed iterations are interleaved (one of each model per round,
CUDA synchronised) and images/s = batch size / median iteration time, so that load changes on a shared machine
affect all models alike. The baseline (if given) is listed first as 1.00x.
"""
import argparse
import statistics
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.model import BaseModel

import largekernel  # noqa: F401  (registers the largekernel modules)
from largekernel.utils import build_model_from_config, count_params, largekernel_backbones

MODES = ('train', 'deploy', 'inference')


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


def make_step(model, mode, batch_size, in_channels, shape, device):
    """One benchmark iteration of ``model`` on a random ``(batch_size, in_channels, H, W)`` input."""
    model = model.to(device)
    model.train(mode == 'train')
    x = torch.randn(batch_size, in_channels, *shape, device=device)
    run = (lambda: model(x, mode='tensor')) if isinstance(model, BaseModel) else (lambda: model(x))

    def step():
        if mode == 'train':
            model.zero_grad(set_to_none=True)
            _sum_outputs(run()).backward()
        else:
            with torch.no_grad():
                run()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    return step


def interleaved_times(steps, iters, warmup):
    """Seconds per iteration of every step, measured round-robin (one iteration of each model per round), so that
    load changes on a shared machine affect all models alike."""
    for step in steps:
        for _ in range(warmup):
            step()
    times = [[] for _ in steps]
    for _ in range(iters):
        for step, record in zip(steps, times):
            start = time.perf_counter()
            step()
            record.append(time.perf_counter() - start)
    return times


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--mode', choices=MODES, default='deploy')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--baseline', help='config measured first; every row reports its ratio to it')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='applied to every config')
    args = parser.parse_args(argv)
    for name in ('batch_size', 'iters'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if args.warmup < 0 or min(args.shape) < 1:
        parser.error(f'--warmup must be >= 0 and --shape positive, got {args.warmup} and {args.shape}')
    return args


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    configs = ([args.baseline] if args.baseline else []) + list(args.configs)
    steps, params = [], []
    for config in configs:
        model, in_channels = build_model(config, args.mode, args.cfg_options)
        params.append(count_params(model))
        steps.append(make_step(model, args.mode, args.batch_size, in_channels, args.shape, device))
    times = interleaved_times(steps, args.iters, args.warmup)
    speeds = [args.batch_size / statistics.median(t) for t in times]
    base = speeds[0] if args.baseline else None
    print(f'mode {args.mode}, device {device}, batch {args.batch_size}, input {tuple(args.shape)}, '
          f'{args.iters} interleaved iterations after {args.warmup} warm-up, median time, '
          f'torch threads {torch.get_num_threads()}')
    width = max(len(c) for c in configs) + (len(' (baseline)') if args.baseline else 0)
    print(f'{"config":<{width}}  {"params":>9}  {"images/s":>10}  {"vs baseline":>11}')
    for i, (config, n, speed) in enumerate(zip(configs, params, speeds)):
        ratio = f'{speed / base:.2f}x' if base else '-'
        name = f'{config} (baseline)' if args.baseline and i == 0 else config
        print(f'{name:<{width}}  {n / 1e6:>8.2f}M  {speed:>10.2f}  {ratio:>11}')
    return [dict(config=c, params=n, images_per_s=v, ratio=(v / base if base else None))
            for c, n, v in zip(configs, params, speeds)]


if __name__ == '__main__':
    main()
