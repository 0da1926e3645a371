"""The quick start: train, re-parameterise and evaluate a UniRepLKNet on the committed Fashion-MNIST subset.

    python tools/quickstart.py [--work-dir work_dirs/quickstart] [--amp] [--cfg-options k=v ...]

1. trains configs/unireplknet/unireplknet-mini_1xb64_fashion-mnist.py with tools/train.py (mmengine logging);
2. re-parameterises the final checkpoint into the deploy form (tools/model_converters/reparameterize.py);
3. evaluates the training form and the deploy form on the held-out split (tools/test.py) and prints both top-1.
It exits non-zero if top-1 is below 85% or the two forms differ by more than 0.1 points. ``--amp`` trains and
evaluates in mixed precision (bf16 autocast on a CPU); bf16 rounds the two forms' arithmetic differently, so they
may then differ by up to 0.5 points.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/unireplknet/unireplknet-mini_1xb64_fashion-mnist.py'
DEPLOY_CONFIG = 'configs/unireplknet/deploy/unireplknet-mini-deploy_1xb64_fashion-mnist.py'
MIN_TOP1, MAX_GAP, MAX_GAP_AMP = 85.0, 0.1, 0.5


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--amp', action='store_true', help='mixed precision in training and evaluation')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='passed to tools/train.py and tools/test.py')
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))
    import reparameterize
    import test as test_tool

    options = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    options += ['--amp'] if args.amp else []
    start = time.time()
    subprocess.run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', args.work_dir, *options], check=True)
    train_minutes = (time.time() - start) / 60
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    deploy_checkpoint = osp.join(args.work_dir, 'deploy.pth')
    reparameterize.main([CONFIG, checkpoint, deploy_checkpoint])
    top1 = {}
    for form, config, ckpt in (('training', CONFIG, checkpoint), ('deploy', DEPLOY_CONFIG, deploy_checkpoint)):
        metrics = test_tool.main([config, ckpt, '--work-dir', osp.join(args.work_dir, f'test_{form}'), *options])
        top1[form] = metrics['accuracy/top1']
    gap = abs(top1['training'] - top1['deploy'])
    print('\n' + '=' * 64)
    print(f'UniRepLKNet quick start on Fashion-MNIST (held-out 1000 images); training took {train_minutes:.1f} min')
    print(f'  training form  top-1 {top1["training"]:.2f}%   ({checkpoint})')
    print(f'  deploy form    top-1 {top1["deploy"]:.2f}%   ({deploy_checkpoint})')
    print(f'  difference     {gap:.2f} points')
    print('=' * 64)
    max_gap = MAX_GAP_AMP if args.amp else MAX_GAP
    if top1['training'] < MIN_TOP1 or gap > max_gap:
        sys.exit(f'quick start below target: top-1 must be >= {MIN_TOP1} and the forms within {max_gap} points')
    return top1


if __name__ == '__main__':
    main()
