"""Convert an official checkpoint into a largekernel checkpoint (mmpretrain ``ImageClassifier`` keys).

    python tools/model_converters/convert.py FAMILY SRC DST [--ema] [--deploy] [--arch ARCH] [--no-head]
        [--layout auto|official|mmpretrain]   (replknet)
        [--num-edges 4] [--kernel-sizes 51 49 47 13]   (shiftwise; kernel sizes: the SW-v1 equivalent kernels M)
        [--small-kernel 3]                    (slak; the N x N kernel of a merged Decom=False checkpoint)

FAMILY: replknet (DingXiaoH/RepLKNet-pytorch or mmpretrain), unireplknet (AILab-CVC/UniRepLKNet), slak
(VITA-Group/SLaK), shiftwise (lidc54/shift-wiseConv ShiftWise_v2), uniconvnet (ai-paperwithcode/UniConvNet).

The arch is read off the weights (``--arch`` checks it against a named variant) and the converted weights are loaded
strictly into that backbone, so unknown and missing keys stop the conversion, listed. ``--deploy`` writes the
inference form, produced by the backbone's own ``switch_to_deploy()``; checkpoints already partly re-parameterised by
the official code (RepLKNet ``small_kernel_merged=True`` / ``deep_fuse_BN()``) always convert to it. ``--ema`` takes
the checkpoint's EMA weights (``model_ema``).

DST holds ``{'state_dict': ..., 'meta': ...}`` with ``backbone.*`` and ``head.fc.*`` keys: use it with
``load_from=DST`` (a deploy-form one with a ``*-deploy`` config), or as a backbone initialisation with
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``. Key layouts: the docstrings of
``largekernel.models.converters.<family>``.
"""
import argparse

import torch

from largekernel.models.converters import FAMILIES
from largekernel.models.converters.core import head_classes
from largekernel.utils.checkpoint import load_checkpoint

FAMILY_OPTIONS = {'replknet': ('layout',), 'shiftwise': ('num_edges', 'kernel_sizes'), 'slak': ('small_kernel',)}


def build_parser(family=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    if family is None:
        parser.add_argument('family', choices=sorted(FAMILIES), help='model family of SRC')
    parser.add_argument('src', help='official checkpoint (path or URL)')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--ema', action='store_true', help='convert the EMA weights ("model_ema") instead of "model"')
    parser.add_argument('--deploy', action='store_true', help='write the deploy (re-parameterised) form')
    parser.add_argument('--arch', help='expected variant (e.g. 31B, A, T, tiny); default: read off the weights')
    parser.add_argument('--no-head', action='store_true', help='drop the classifier (head.fc.*)')
    if family in (None, 'replknet'):
        parser.add_argument('--layout', choices=('auto', 'official', 'mmpretrain'),
                            help='RepLKNet: key layout of SRC (default: detect)')
    if family in (None, 'shiftwise'):
        parser.add_argument('--num-edges', type=int,
                            help='ShiftWise: shift-add edges E of the model (default 4, as released)')
        parser.add_argument('--kernel-sizes', type=int, nargs='+',
                            help='ShiftWise: per-stage equivalent kernel sizes M, which the weights do not determine '
                            '(default 51 49 47 13)')
    if family in (None, 'slak'):
        parser.add_argument('--small-kernel', type=int,
                            help='SLaK: the small kernel N of a merged Decom=False checkpoint (default 3)')
    return parser


def main(argv=None, family=None):
    parser = build_parser(family)
    args = parser.parse_args(argv)
    family = family or args.family
    options = {}
    for name in ('layout', 'num_edges', 'kernel_sizes', 'small_kernel'):
        value = getattr(args, name, None)
        if value is not None:
            if name not in FAMILY_OPTIONS.get(family, ()):
                valid = [f for f, names in FAMILY_OPTIONS.items() if name in names]
                parser.error(f'--{name.replace("_", "-")} applies to {valid} only, not to {family}')
            options[name] = tuple(value) if isinstance(value, list) else value
    checkpoint = load_checkpoint(args.src, map_location='cpu')
    state, summary = FAMILIES[family].convert(checkpoint, ema=args.ema, deploy=args.deploy, arch=args.arch, **options)
    if args.no_head:
        state = {k: v for k, v in state.items() if not k.startswith('head.')}
    torch.save({'state_dict': state, 'meta': dict(converted_from=str(args.src), family=family, ema=args.ema,
                                                  **summary)}, args.dst)
    classes = head_classes(state)
    extra = ''.join(f', {k} {v}' for k, v in summary.items() if k not in ('arch', 'form') and v is not None)
    print(f'{args.src} -> {args.dst}: {family} {summary["arch"]}, {summary["form"]} form, {len(state)} tensors, '
          f'{"no head" if classes is None else f"{classes}-class head"}{extra}')
    return state


if __name__ == '__main__':
    main()
