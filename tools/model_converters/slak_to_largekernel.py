"""Convert an official SLaK checkpoint (VITA-Group/SLaK): ``convert.py slak``.

    python tools/model_converters/slak_to_largekernel.py SRC DST [--ema] [--deploy] [--arch ARCH] [--no-head]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from convert import main as convert_main  # noqa: E402


def main(argv=None):
    return convert_main(argv, family='slak')


if __name__ == '__main__':
    main()
