"""Convert an official UniRepLKNet checkpoint (training or deploy form) for ``largekernel.UniRepLKNet``.

    python tools/model_converters/unireplknet_to_largekernel.py SRC DST

The output ``{'state_dict': ...}`` has mmpretrain ``ImageClassifier`` keys (``backbone.*``, ``head.fc.*``): use it
with ``load_from=DST`` (a deploy-form checkpoint with a ``*-deploy`` config) or as a backbone initialisation with
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``. Unknown keys stop the conversion, named.
The key mapping lives in ``largekernel.models.converters.unireplknet``.
"""
import argparse

import torch

from largekernel.models.converters.unireplknet import convert_unireplknet, is_deploy_form
from largekernel.utils.checkpoint import load_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official UniRepLKNet checkpoint (.pth)')
    parser.add_argument('dst', help='output path')
    args = parser.parse_args(argv)
    state = convert_unireplknet(load_checkpoint(args.src))
    torch.save({'state_dict': state, 'meta': dict(converted_from=args.src)}, args.dst)
    head = state.get('head.fc.weight')
    print(f'{args.src} -> {args.dst}: {len(state)} tensors, '
          f'{"deploy" if is_deploy_form(state) else "training"} form, '
          f'{"no head" if head is None else f"{head.shape[0]}-class head"}')
    return state


if __name__ == '__main__':
    main()
