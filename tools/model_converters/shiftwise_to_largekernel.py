"""Convert an official ShiftwiseConv checkpoint (lidc54/shift-wiseConv, ``ShiftWise_v2``) for ``largekernel.ShiftWise``.

    python tools/model_converters/shiftwise_to_largekernel.py SRC DST [--num-edges 4] [--ema] [--no-head]

The output ``{'state_dict': ...}`` has mmpretrain ``ImageClassifier`` keys (``backbone.*``, ``head.fc.*``) in the
training form, with the ghost split and shift tables added (the official model regenerates them from seeds): use it
with ``load_from=DST`` or ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``, or
re-parameterise it with tools/model_converters/reparameterize.py. The key mapping lives in
``largekernel.models.converters.shiftwise``.
"""
import argparse

import torch

from largekernel.models.converters.shiftwise import convert_shiftwise, describe
from largekernel.utils.checkpoint import load_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official ShiftWise_v2 checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--num-edges', type=int, default=4, help='shift-add edges E of the model (N_rep; 4)')
    parser.add_argument('--ema', action='store_true', help='convert the "model_ema" entry instead of "model"')
    parser.add_argument('--no-head', action='store_true', help='drop the classifier (head.fc.*)')
    args = parser.parse_args(argv)
    checkpoint = load_checkpoint(args.src)
    state = convert_shiftwise(checkpoint, num_edges=args.num_edges, ema=args.ema, include_head=not args.no_head)
    torch.save({'state_dict': state}, args.dst)
    info = describe(state)
    print(f'{args.src} -> {args.dst}: {len(state)} tensors, depths {info["depths"]}, dims {info["dims"]}, '
          f'{info["num_branches"]} Rep branch(es), {args.num_edges} edges')
    return state


if __name__ == '__main__':
    main()
