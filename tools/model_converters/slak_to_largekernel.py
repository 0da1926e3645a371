"""Convert an official SLaK checkpoint (VITA-Group/SLaK) for ``largekernel.SLaK``.

    python tools/model_converters/slak_to_largekernel.py SRC DST [--ema] [--deploy]

The output ``{'state_dict': ...}`` has mmpretrain ``ImageClassifier`` keys (``backbone.*``, ``head.fc.*``): use it
with ``load_from=DST`` or ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``. With
``--deploy`` it is the deploy form (``model.backbone.deploy=True``). The key mapping lives in
``largekernel.models.converters.slak``.
"""
import argparse

import torch

from largekernel.models.converters.slak import convert_slak, describe
from largekernel.utils.checkpoint import load_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official SLaK checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument('--ema', action='store_true', help='convert the "model_ema" weights instead of "model"')
    parser.add_argument('--deploy', action='store_true',
                        help='write the deploy form (BNs folded, small kernel merged into the K x N strip)')
    args = parser.parse_args(argv)
    checkpoint = load_checkpoint(args.src)
    state = convert_slak(checkpoint, ema=args.ema, deploy=args.deploy)
    torch.save({'state_dict': state}, args.dst)
    info = describe(state)
    print(f'{args.src} -> {args.dst}: {len(state)} tensors, {info["form"]} form, depths {info["depths"]}, '
          f'channels {info["channels"]}, kernel sizes {info["kernel_sizes"]}, small kernel {info["small_kernel"]}, '
          f'strip density {info["strip_density"]:.3f}, classes '
          f'{state["head.fc.weight"].shape[0] if "head.fc.weight" in state else "none (no head)"}')
    return state


if __name__ == '__main__':
    main()
