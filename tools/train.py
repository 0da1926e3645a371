"""Train a model from a config of any OpenMMLab toolbox (the config's ``default_scope`` picks the registries).

``compile = True`` (or a dict of ``torch.compile`` arguments) in the config compiles the model's forward pass
(network and loss); the optimizer step stays eager (see ``compile_model``).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|CKPT]] [--amp] [--auto-scale-lr]
                          [--no-validate] [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
                          [--unsafe-load]

Multi-GPU / multi-node: tools/dist_train.sh CONFIG GPUS [args]. Without GPUs the same launcher runs DDP over
CPU processes with gloo (see largekernel/engine/runtime_fixes.py).
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import largekernel  # noqa: F401  (installs the runtime fixes)
from largekernel.engine.fsdp import fsdp_on_cpu
from largekernel.utils.checkpoint import UNSAFE_LOAD_ENV, allow_unsafe_load


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest one in the work dir if no '
                             'checkpoint is given ("auto")')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (without a GPU: CPU '
                                                            'autocast in bfloat16)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate linearly with the actual total batch size')
    parser.add_argument('--no-validate', action='store_true', help='do not evaluate during training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.backbone.drop_path_rate=0.1')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='unpickle checkpoints that safe loading (weights_only=True) refuses; a pickle can run '
                             f'arbitrary code, so only for files you trust (the same as {UNSAFE_LOAD_ENV}=1)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError(f'--auto-scale-lr needs auto_scale_lr.base_batch_size in {args.config}')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume checkpoint {args.resume} does not exist')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def compile_model(runner, compile_cfg):
    """``torch.compile`` the model in place (``nn.Module.compile``: same state-dict keys, inside any DDP wrapper).

    mmengine's own ``compile`` option compiles the whole ``train_step``, optimizer step included, which dynamo
    cannot trace in torch 2.13 (``AdamW.step`` fails with an internal error); the forward pass is where the time goes.
    """
    if compile_cfg is True:
        compile_cfg = {}
    if not isinstance(compile_cfg, dict):
        raise TypeError(f'compile must be True, False or a dict of torch.compile arguments, got {compile_cfg!r}')
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    model.compile(**compile_cfg)
    runner.logger.info(f'Model forward compiled with torch.compile({compile_cfg}); the first iterations are slow.')


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config {args.config} does not exist')
    cfg = fsdp_on_cpu(merge_args(Config.fromfile(args.config), args))
    compile_cfg = cfg.pop('compile', False)
    with allow_unsafe_load(args.unsafe_load):
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
        if compile_cfg:
            compile_model(runner, compile_cfg)
        runner.train()


if __name__ == '__main__':
    main()
