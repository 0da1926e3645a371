"""Parameters and MACs of a config's model, training and deploy forms, in the papers' convention.

    python tools/analysis_tools/get_flops.py CONFIG [--shape 384 | --shape H W] [--cfg-options k=v ...]

"FLOPs" in these papers are multiply-accumulates of the convolutions and linear layers of the inference structure
(largekernel/utils/complexity.py). Classifiers are counted whole (with their head, as the papers' tables);
detectors and segmentors by their backbone (the part this project provides). Backbones trained sparsely (SLaK,
SW) also report the non-zero parameter count at the configured density.
"""
import argparse
import copy

import torch
from mmengine.config import Config, DictAction

import largekernel  # noqa: F401
from largekernel.utils import build_model_from_config, count_macs, count_params, switch_to_deploy
from largekernel.utils.sparsity import sparse_kwargs, sparse_macs, sparse_param_count


def counted_part(model):
    """A classifier is counted whole (as the papers' tables), any other model by its backbone."""
    from mmpretrain.models import BaseClassifier
    model.eval()
    return (model, 'model') if isinstance(model, BaseClassifier) else (model.backbone, 'backbone')


def measure(model, shape):
    target, scope = counted_part(model)
    return scope, count_params(target), count_macs(target, shape)


def measure_sparse(model, shape, hook_cfg):
    """Non-zero parameters and remaining MACs after sparse training at the hook's density (uniform rule)."""
    target, scope = counted_part(model)
    kwargs = sparse_kwargs(hook_cfg)
    return (f'sparse@{kwargs["density"]:.2f}', scope, sparse_param_count(target, **kwargs),
            sparse_macs(target, input_shape=shape, **kwargs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs='+', default=[224], help='input size: S or H W')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if len(args.shape) not in (1, 2):
        raise ValueError(f'--shape takes one or two sizes, got {args.shape}')
    h, w = args.shape * 2 if len(args.shape) == 1 else args.shape
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    in_channels = cfg.model.get('backbone', {}).get('in_channels', 3)
    shape = (1, in_channels, h, w)
    rows = []
    if not cfg.model.get('backbone', {}).get('deploy', False):
        model = build_model_from_config(copy.deepcopy(cfg), deploy=False)
        rows.append(('training', *measure(model, shape)))
        for hook in cfg.get('custom_hooks', []):
            if hook['type'] in ('largekernel.DynamicSparseHook', 'DynamicSparseHook'):
                rows.append(measure_sparse(model, shape, hook))
        switch_to_deploy(model)
        rows.append(('deploy', *measure(model, shape)))
    else:
        rows.append(('deploy', *measure(build_model_from_config(cfg), shape)))
    print(f'{args.config}  input {shape}')
    print(f'{"form":<12}{"counted":<10}{"params":>14}{"MACs":>14}')
    for form, scope, params, macs in rows:
        print(f'{form:<12}{scope:<10}{params / 1e6:>13.2f}M{macs / 1e9:>13.3f}G')
    return rows


if __name__ == '__main__':
    torch.set_grad_enabled(False)
    main()
