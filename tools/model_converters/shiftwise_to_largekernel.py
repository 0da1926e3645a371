"""Convert an official ShiftwiseConv checkpoint (lidc54/shift-wiseConv, ``ShiftWise_v2``): ``convert.py shiftwise``.

    python tools/model_converters/shiftwise_to_largekernel.py SRC DST [--num-edges 4] [--ema] [--no-head] [--deploy]
        [--arch ARCH]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from convert import main as convert_main  # noqa: E402


def main(argv=None):
    return convert_main(argv, family='shiftwise')


if __name__ == '__main__':
    main()
