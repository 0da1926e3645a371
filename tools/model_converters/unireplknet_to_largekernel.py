"""Convert an official UniRepLKNet checkpoint (AILab-CVC/UniRepLKNet, training or deploy form):
``convert.py unireplknet``.

    python tools/model_converters/unireplknet_to_largekernel.py SRC DST [--deploy] [--ema] [--arch ARCH] [--no-head]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from convert import main as convert_main  # noqa: E402


def main(argv=None):
    return convert_main(argv, family='unireplknet')


if __name__ == '__main__':
    main()
