"""Convert an official UniConvNet checkpoint (ai-paperwithcode/UniConvNet, any variant): ``convert.py uniconvnet``.

    python tools/model_converters/uniconvnet_to_largekernel.py SRC DST [--ema] [--no-head] [--arch ARCH]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from convert import main as convert_main  # noqa: E402


def main(argv=None):
    return convert_main(argv, family='uniconvnet')


if __name__ == '__main__':
    main()
