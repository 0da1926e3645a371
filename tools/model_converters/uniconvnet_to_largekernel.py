"""Convert an official UniConvNet checkpoint (ai-paperwithcode/UniConvNet, any variant) for ``largekernel.UniConvNet``.

    python tools/model_converters/uniconvnet_to_largekernel.py SRC DST [--ema] [--no-head]

The output ``{'state_dict': ...}`` has mmpretrain ``ImageClassifier`` keys (``backbone.*``, ``head.fc.*``): use it
with ``load_from=DST`` or ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``. The released
``*_ema.pth`` files already hold the EMA weights under ``model`` (the default); ``--ema`` takes a ``model_ema``
entry instead. The key mapping lives in ``largekernel.models.converters.uniconvnet``.
"""
import argparse

import torch

from largekernel.models.converters.uniconvnet import convert_uniconvnet, describe
from largekernel.utils.checkpoint import load_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official UniConvNet checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--ema', action='store_true', help='convert the "model_ema" entry instead of "model"')
    parser.add_argument('--no-head', action='store_true', help='drop the classifier (head.fc.*)')
    args = parser.parse_args(argv)
    checkpoint = load_checkpoint(args.src)
    state = convert_uniconvnet(checkpoint, ema=args.ema, include_head=not args.no_head)
    torch.save({'state_dict': state}, args.dst)
    info = describe(state)
    classes = state['head.fc.weight'].shape[0] if 'head.fc.weight' in state else 'none (no head)'
    print(f'{args.src} -> {args.dst}: {len(state)} tensors, depths {info["depths"]}, dims {info["dims"]}, DCN '
          f'channels/group {info["dcn_group_channels"]}, classes {classes}')
    return state


if __name__ == '__main__':
    main()
