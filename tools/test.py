"""Evaluate a checkpoint with a config of any OpenMMLab toolbox.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--cfg-options k=v ...]
                         [--launcher none|pytorch|slurm|mpi] [--unsafe-load] [--tta] [--amp]

--amp: mixed-precision inference (mmengine's ``test_cfg.fp16``): fp16 autocast on a GPU, bf16 autocast on a CPU.

--tta: test-time augmentation as the config states it (the papers' multi-scale "MS" columns): the config's
``tta_pipeline`` (e.g. the test scale x 0.5 ... 1.75, each plain and flipped) replaces the test pipeline and its
``tta_model`` merges the augmented predictions (mmseg's SegTTAModel averages the per-class scores; mmdet's DetTTAModel
merges boxes with NMS, so detectors with masks are refused). A config without both stops with an error. Sliding-window
testing is the config's ``model.test_cfg=dict(mode='slide', crop_size=..., stride=...)`` and applies to every scale.

Multi-GPU: tools/dist_test.sh CONFIG CHECKPOINT GPUS [args].
"""
import argparse
import copy
import functools
import os
import os.path as osp

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import largekernel  # noqa: F401  (installs the runtime fixes)
from largekernel.utils.checkpoint import UNSAFE_LOAD_ENV, allow_unsafe_load


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.batch_size=32')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='unpickle checkpoints that safe loading (weights_only=True) refuses; a pickle can run '
                             f'arbitrary code, so only for files you trust (the same as {UNSAFE_LOAD_ENV}=1)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_pipeline (multi-scale + flip) merged by its "
                             'tta_model')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision inference (test_cfg.fp16: fp16 autocast on a GPU, bf16 on a CPU)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


class DumpSegResults(DumpResults):
    """mmengine's dumper without the per-class logits and the ground truth of mmseg samples (150 x H x W floats per
    ADE20K image); the label maps (``pred_sem_seg``) and meta information are kept."""

    def process(self, data_batch, predictions):
        super().process(data_batch, [{k: v for k, v in p.items() if k not in ('seg_logits', 'gt_sem_seg')}
                                     for p in predictions])


def dump_results(cfg, out_file):
    """The ``--out`` dumper: mmdet's stores masks as RLE and drops the ground truth (as mmdet's own ``--out``);
    mmseg's drops the logits; the other toolboxes use mmengine's."""
    if cfg.get('default_scope') == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        return DumpDetResults(out_file_path=out_file)
    if cfg.get('default_scope') == 'mmseg':
        return DumpSegResults(out_file_path=out_file)
    return DumpResults(out_file_path=out_file)


def _has_mask_head(node):
    if isinstance(node, dict):
        return any(k == 'mask_head' and v is not None or _has_mask_head(v) for k, v in node.items())
    if isinstance(node, (list, tuple)):
        return any(_has_mask_head(v) for v in node)
    return False


def apply_tta(cfg, config_path):
    """Wrap ``cfg.model`` in ``cfg.tta_model`` and test on ``cfg.tta_pipeline`` (in place; returns ``cfg``)."""
    missing = [key for key in ('tta_model', 'tta_pipeline') if not cfg.get(key)]
    if missing:
        raise ValueError(f'--tta: {config_path} states no {" and no ".join(missing)}; add them to the config (the '
                         'segmentation recipes inherit both from configs/_base_/segmentation/, mmdet configs set '
                         "tta_model=dict(type='DetTTAModel', tta_cfg=...) and a TestTimeAug tta_pipeline)")
    if cfg.tta_model.get('type') in ('DetTTAModel', 'mmdet.DetTTAModel') and _has_mask_head(cfg.model):
        raise ValueError(f'--tta: {config_path} predicts masks, which mmdet\'s DetTTAModel cannot merge (it merges '
                         'boxes only); test it without --tta')
    cfg.model = ConfigDict(**copy.deepcopy(cfg.tta_model), module=cfg.model)
    cfg.test_dataloader = copy.deepcopy(cfg.test_dataloader)
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:  # dataset wrappers
        dataset = dataset.dataset
    dataset.pipeline = copy.deepcopy(cfg.tta_pipeline)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.tta:
        apply_tta(cfg, args.config)
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    # mmengine loads ``load_from`` non-strictly (mismatches become log warnings and the model is evaluated with
    # partly random weights); a checkpoint under test must match the config exactly.
    cfg.load_from = args.checkpoint
    with allow_unsafe_load(args.unsafe_load):
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
        runner.load_checkpoint = functools.partial(runner.load_checkpoint, strict=True)
        if args.out is not None:
            if not args.out.endswith(('.pkl', '.pickle')):
                raise ValueError(f'--out {args.out} must end with .pkl or .pickle')
            runner.test_evaluator.metrics.append(dump_results(cfg, args.out))
        try:
            return runner.test()
        except RuntimeError as error:
            if 'state_dict' not in str(error):
                raise
            raise RuntimeError(f'checkpoint {args.checkpoint} does not match the model of {args.config} (another '
                               'architecture or form? a deploy checkpoint needs the *-deploy config):\n'
                               f'{error}') from None


if __name__ == '__main__':
    main()
