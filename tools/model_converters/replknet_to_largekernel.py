"""Convert an official (DingXiaoH/RepLKNet-pytorch) or mmpretrain RepLKNet checkpoint:
``convert.py replknet``.

    python tools/model_converters/replknet_to_largekernel.py SRC DST [--layout auto|official|mmpretrain]
        [--deploy] [--ema] [--arch ARCH] [--no-head]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from convert import main as convert_main  # noqa: E402


def main(argv=None):
    return convert_main(argv, family='replknet')


if __name__ == '__main__':
    main()
