"""Convert an official (DingXiaoH/RepLKNet-pytorch) or mmpretrain RepLKNet checkpoint for ``largekernel.RepLKNet``.

    python tools/model_converters/replknet_to_largekernel.py SRC DST [--layout auto|official|mmpretrain] [--deploy]

The output ``{'state_dict': ...}`` has mmpretrain ``ImageClassifier`` keys (``backbone.*``, ``head.fc.*``): use it
with ``load_from=DST`` or ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``. A checkpoint
that is already re-parameterised converts to the deploy form (``model.backbone.deploy=True``).
The key mapping lives in ``largekernel.models.converters.replknet``.
"""
import argparse

import torch

from largekernel.models.converters.replknet import convert_replknet, describe
from largekernel.utils.checkpoint import load_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official or mmpretrain RepLKNet checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--layout', default='auto', choices=('auto', 'official', 'mmpretrain'),
                        help='key layout of SRC (default: detect)')
    parser.add_argument('--deploy', action='store_true',
                        help='write the deploy form (merged kernels, folded BNs) of a training-form checkpoint')
    args = parser.parse_args(argv)
    checkpoint = load_checkpoint(args.src)
    state = convert_replknet(checkpoint, layout=args.layout, deploy=args.deploy)
    torch.save({'state_dict': state}, args.dst)
    info = describe(state)
    print(f'{args.src} -> {args.dst}: {len(state)} tensors, {info["form"]} form, layers {info["layers"]}, '
          f'channels {info["channels"]}, large kernels {info["large_kernel_sizes"]}, small kernel '
          f'{info["small_kernel"]}, dw_ratio {info["dw_ratio"]}, classes '
          f'{state["head.fc.weight"].shape[0] if "head.fc.weight" in state else "none (no head)"}')
    return state


if __name__ == '__main__':
    main()
