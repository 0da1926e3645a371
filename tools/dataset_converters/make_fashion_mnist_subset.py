"""Derive the committed quick-start dataset from Fashion-MNIST.

Source: the Debian package ``dataset-fashion-mnist`` (``apt-get install dataset-fashion-mnist``; or ``apt-get
download`` + ``dpkg -x``), which installs Zalando's original gzipped idx files under
/usr/share/datasets/fashion-mnist. Licence: MIT (Expat), (c) 2017 Zalando SE; see data/fashion_mnist_subset/NOTICE.

The subset takes the first ``--train-per-class`` images of each class from the training split and the first
``--val-per-class`` of each class from the test split, in file order (deterministic), and writes them as
uncompressed idx files under the names mmpretrain's ``FashionMNIST`` dataset reads (train = training subset,
t10k = held-out subset), plus a PROVENANCE file with the sha256 of every source and output file.

    python tools/dataset_converters/make_fashion_mnist_subset.py --src /usr/share/datasets/fashion-mnist
"""
import argparse
import gzip
import hashlib
import os
import os.path as osp
import struct

import numpy as np

FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
         't10k': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}


def read_idx(path):
    with gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb') as f:
        data = f.read()
    magic, = struct.unpack('>I', data[:4])
    ndim = magic & 0xFF
    shape = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def write_idx(path, array):
    header = struct.pack('>I', 0x0800 | array.ndim) + struct.pack('>' + 'I' * array.ndim, *array.shape)
    with open(path, 'wb') as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def first_per_class(labels, per_class):
    keep = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)])
    return np.sort(keep)


def sha256(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--src', default='/usr/share/datasets/fashion-mnist')
    parser.add_argument('--out', default='data/fashion_mnist_subset')
    parser.add_argument('--train-per-class', type=int, default=600)
    parser.add_argument('--val-per-class', type=int, default=100)
    args = parser.parse_args()
    if not osp.isdir(args.src):
        raise SystemExit(f'--src {args.src} does not exist; install the Debian package dataset-fashion-mnist')
    os.makedirs(args.out, exist_ok=True)
    lines = ['Fashion-MNIST subset for the largekernel quick start',
             'source: Debian package dataset-fashion-mnist (Zalando SE, MIT licence)',
             f'selection: first {args.train_per_class}/class of the training split -> train-*, '
             f'first {args.val_per_class}/class of the test split -> t10k-*', '']
    for split, per_class in (('train', args.train_per_class), ('t10k', args.val_per_class)):
        img_name, lbl_name = FILES[split]
        img_src, lbl_src = (osp.join(args.src, n + '.gz') for n in (img_name, lbl_name))
        images, labels = read_idx(img_src), read_idx(lbl_src)
        keep = first_per_class(labels, per_class)
        write_idx(osp.join(args.out, img_name), images[keep])
        write_idx(osp.join(args.out, lbl_name), labels[keep])
        for path in (img_src, lbl_src):
            lines.append(f'source  {sha256(path)}  {osp.basename(path)}')
        for name in (img_name, lbl_name):
            lines.append(f'output  {sha256(osp.join(args.out, name))}  {name}  ({len(keep)} items)')
    with open(osp.join(args.out, 'PROVENANCE'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
