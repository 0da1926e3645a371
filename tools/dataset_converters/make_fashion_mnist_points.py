"""Derive the committed small point-cloud set (data/fashion_mnist_points) and the loader fixtures
(tests/data/point_cloud), both in ModelNet-40's resampled layout (largekernel/datasets/point_cloud.py).

Images as point sets, as PointNet++ (Qi et al., NeurIPS 2017, §4.1) classifies MNIST digits as 2D point clouds. The
source is the repository's own Fashion-MNIST subset (data/fashion_mnist_subset: Zalando SE, MIT licence; made by
make_fashion_mnist_subset.py from the Debian package dataset-fashion-mnist; see its NOTICE and PROVENANCE). Each
28 x 28 grey image becomes a relief of ``--points`` points: pixels are drawn with probability proportional to their
intensity (numpy's default_rng(seed + image index)), each point lies uniformly inside its pixel (x to the right,
y up, both in [-1, 1]) and rises by z = 0.5 * intensity / 255 towards the viewer; its normal is the relief's
(central differences of the intensity). The first ``--train-per-class`` images of each class of the subset's
training split and the first ``--test-per-class`` of its test split are written as class folders of
``x,y,z,nx,ny,nz`` text files with the three list files (prefix ``fashionmnist10``), plus PROVENANCE (sha256 of the
sources and of every list) and the licence notice.

The fixtures (``--fixtures``) are tiny synthetic clouds (points on a cone, a cylinder and a box, with their exact
normals) under three ModelNet-40 class names, in the full ModelNet-40 layout with its 40 shape names, and the same
clouds as the official code's processed ``modelnet40_{train,test}_8192pts_fps.dat`` pickles.

    python tools/dataset_converters/make_fashion_mnist_points.py            # both, deterministic
"""
import argparse
import hashlib
import os
import os.path as osp
import pickle
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from make_fashion_mnist_subset import read_idx  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSES = ('tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle_boot')
MODELNET40 = ('airplane bathtub bed bench bookshelf bottle bowl car chair cone cup curtain desk door dresser '
              'flower_pot glass_box guitar keyboard lamp laptop mantel monitor night_stand person piano plant radio '
              'range_hood sink sofa stairs stool table tent toilet tv_stand vase wardrobe xbox').split()


def relief_points(image, num_points, rng):
    """(num_points, 6) points of one grey image seen as a relief (see the module docstring)."""
    intensity = image.astype(np.float64) / 255
    flat = intensity.ravel()
    pixels = rng.choice(flat.size, size=num_points, p=flat / flat.sum())
    rows, cols = np.divmod(pixels, image.shape[1])
    half = image.shape[0] / 2
    x = (cols + rng.random(num_points) - half) / half
    y = (half - rows - rng.random(num_points)) / half
    z = 0.5 * flat[pixels]
    dzdr, dzdc = np.gradient(0.5 * intensity * half)  # slopes per unit of x / y
    normals = np.stack([-dzdc[rows, cols], dzdr[rows, cols], np.ones(num_points)], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return np.concatenate([np.stack([x, y, z], axis=1), normals], axis=1)


def write_cloud(path, points):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        for p in points:
            f.write(','.join([f'{v:.3f}' for v in p[:3]] + [f'{v:.2f}' for v in p[3:]]) + '\n')


def write_lines(path, lines):
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_points(src, dst, per_class, num_points, seed):
    os.makedirs(dst, exist_ok=True)
    prefix = 'fashionmnist10'
    write_lines(osp.join(dst, f'{prefix}_shape_names.txt'), CLASSES)
    provenance = ['Fashion-MNIST images as point clouds (tools/dataset_converters/make_fashion_mnist_points.py)',
                  f'source: {osp.relpath(src, ROOT)} (Zalando SE, MIT licence), points={num_points}, seed={seed}']
    index = 0
    for split, idx_name in (('train', 'train'), ('test', 't10k')):
        images_path = osp.join(src, f'{idx_name}-images-idx3-ubyte')
        labels_path = osp.join(src, f'{idx_name}-labels-idx1-ubyte')
        images, labels = read_idx(images_path), read_idx(labels_path)
        provenance += [f'source  {sha256(p)}  {osp.basename(p)}' for p in (images_path, labels_path)]
        ids = []
        for label, name in enumerate(CLASSES):
            for n, i in enumerate(np.flatnonzero(labels == label)[:per_class[split]]):
                shape_id = f'{name}_{split}{n + 1:04d}'
                points = relief_points(images[i], num_points, np.random.default_rng(seed + index))
                write_cloud(osp.join(dst, name, f'{shape_id}.txt'), points)
                ids.append(shape_id)
                index += 1
        lists = osp.join(dst, f'{prefix}_{split}.txt')
        write_lines(lists, ids)
        provenance.append(f'output  {sha256(lists)}  {osp.basename(lists)}  ({len(ids)} clouds)')
    write_lines(osp.join(dst, 'PROVENANCE'), provenance)
    write_lines(osp.join(dst, 'README.md'), [
        '# Fashion-MNIST point clouds', '',
        f'{len(CLASSES)} classes ({", ".join(CLASSES)}), {per_class["train"]} training and {per_class["test"]} test '
        f'clouds per class of {num_points} points, in ModelNet-40\'s resampled layout (list prefix `{prefix}`).', '',
        'Made by `python tools/dataset_converters/make_fashion_mnist_points.py` (deterministic) from the repository\'s '
        'Fashion-MNIST subset (data/fashion_mnist_subset; Zalando SE, MIT licence, see NOTICE): each 28 x 28 grey image '
        'is a relief; pixels are drawn with probability proportional to their intensity, each point lies uniformly '
        'inside its pixel (x right, y up, in [-1, 1]) at height z = 0.5 * intensity / 255, with the relief\'s normal '
        '(images as point sets, as PointNet++ section 4.1 does with MNIST). PROVENANCE lists the checksums.'])
    with open(osp.join(src, 'NOTICE')) as f:
        notice = f.read().split('\n\nThe subset in this folder')[0]
    write_lines(osp.join(dst, 'NOTICE'), [notice, '', 'The point clouds in this folder were made from '
                                          'data/fashion_mnist_subset by '
                                          'tools/dataset_converters/make_fashion_mnist_points.py; PROVENANCE '
                                          'lists the sources and outputs.'])


def primitive(kind, num_points, rng):
    """(num_points, 6) points with outward normals on a unit cone, cylinder or box surface."""
    u, v = rng.random(num_points), rng.random(num_points)
    angle = 2 * np.pi * u
    if kind == 'cone':  # apex at z = 1, base radius 1 at z = 0 (lateral surface)
        r = 1 - v
        xyz = np.stack([r * np.cos(angle), r * np.sin(angle), v], axis=1)
        normals = np.stack([np.cos(angle), np.sin(angle), np.ones(num_points)], axis=1) / np.sqrt(2)
    elif kind == 'cylinder':
        xyz = np.stack([np.cos(angle), np.sin(angle), 2 * v - 1], axis=1)
        normals = np.stack([np.cos(angle), np.sin(angle), np.zeros(num_points)], axis=1)
    else:  # box [-1, 1]^3: a random face, a random point on it
        face = rng.integers(0, 6, num_points)
        axis, sign = face // 2, np.where(face % 2, 1.0, -1.0)
        xyz = rng.uniform(-1, 1, (num_points, 3))
        xyz[np.arange(num_points), axis] = sign
        normals = np.zeros((num_points, 3))
        normals[np.arange(num_points), axis] = sign
    return np.concatenate([xyz, normals], axis=1)


def make_fixtures(dst, num_points=48, seed=0):
    os.makedirs(dst, exist_ok=True)
    rng = np.random.default_rng(seed)
    write_lines(osp.join(dst, 'modelnet40_shape_names.txt'), MODELNET40)
    shapes = {'cone': 'cone', 'cup': 'cylinder', 'xbox': 'box'}
    splits = {'train': (1, 2), 'test': (3,)}
    for split, numbers in splits.items():
        ids = [f'{name}_{n:04d}' for name in shapes for n in numbers]
        write_lines(osp.join(dst, f'modelnet40_{split}.txt'), ids)
        clouds, labels = [], []
        for shape_id in ids:
            name = shape_id.rsplit('_', 1)[0]
            path = osp.join(dst, name, f'{shape_id}.txt')
            write_cloud(path, primitive(shapes[name], num_points, rng))
            clouds.append(np.loadtxt(path, delimiter=',', dtype=np.float32))
            labels.append(np.array([MODELNET40.index(name)], dtype=np.int32))
        # the official code's processed form of the same clouds: a pickled (points, labels) pair per split
        with open(osp.join(dst, f'modelnet40_{split}_8192pts_fps.dat'), 'wb') as f:
            pickle.dump((clouds, labels), f, protocol=4)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', default=osp.join(ROOT, 'data', 'fashion_mnist_subset'))
    parser.add_argument('--dst', default=osp.join(ROOT, 'data', 'fashion_mnist_points'))
    parser.add_argument('--fixtures', default=osp.join(ROOT, 'tests', 'data', 'point_cloud'))
    parser.add_argument('--train-per-class', type=int, default=40)
    parser.add_argument('--test-per-class', type=int, default=12)
    parser.add_argument('--points', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    make_points(args.src, args.dst, dict(train=args.train_per_class, test=args.test_per_class), args.points,
                args.seed)
    make_fixtures(args.fixtures)


if __name__ == '__main__':
    main()
