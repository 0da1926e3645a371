"""Point-cloud classification data (UniRepLKNet §3.3 / §4.2, ModelNet-40) and the official recipe's transforms.

Layout read (ModelNet-40 as PointNet++ resampled it, ``modelnet40_normal_resampled``)::

    data_root/
        modelnet40_shape_names.txt       one class name a line, in label order
        modelnet40_train.txt             one shape id a line (airplane_0001, night_stand_0042, ...)
        modelnet40_test.txt
        airplane/airplane_0001.txt       one point a line: x,y,z,nx,ny,nz
        ...

``prefix`` renames the three list files (``modelnet10`` for ModelNet-10, or a small data set in the same layout).
``source='fps_cache'`` reads the official code's processed data instead of the class folders: the shape names and
lists above plus ``modelnet40_{train,test}_8192pts_fps.dat`` (a pickle of the 8192 farthest points and the label of
every listed shape), unpickled with numpy arrays as the only allowed objects.
``largekernel.ScanObjectNN`` reads the HDF5 files of the ScanObjectNN release (below).
The pipeline turns each cloud into the two copies the embedder reads (``largekernel.PointToPixelEmbedder``): the
sampled, normalised cloud (local features) and its rotated, augmented copy (pixel positions).
"""
import math
import os.path as osp
import pickle

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from mmpretrain.structures import DataSample

from ..registry import DATASETS, TRANSFORMS

__all__ = ['ModelNet40', 'ScanObjectNN', 'LoadPointCloud', 'NormalizePoints', 'PermuteAxes', 'FarthestPointSample',
           'RandomPointSubset', 'ViewRotation', 'RandomScaleTranslate', 'PackPointCloudInputs',
           'farthest_point_sample', 'rotation_theta_phi', 'OFFICIAL_TEST_ROTATIONS']

# The official evaluation's 8 fixed rotations (theta, phi) in units of pi: theta = linspace(0.1, 2, 9)[:8], phi =
# -0.35; every rotation of every test cloud is one prediction (accuracy over 8 x 2468 predictions).
OFFICIAL_TEST_ROTATIONS = tuple((round(0.1 + i * 1.9 / 8, 6), -0.35) for i in range(8))


def _read_lines(path):
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: a ModelNet-40 layout needs the shape names and the train / test '
                                'lists next to the class folders (see largekernel/datasets/point_cloud.py)')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


@DATASETS.register_module()
class ModelNet40(BaseDataset):
    """ModelNet-40 (Wu et al., CVPR 2015) in PointNet++'s resampled layout (see the module docstring).

    Args:
        data_root (str): the folder with the lists and class folders.
        split (str): ``'train'`` or ``'test'``.
        prefix (str): name prefix of the list files.
        source (str): ``'txt'`` (the class folders) or ``'fps_cache'`` (the official processed .dat files).
        test_rotations (sequence | None): fixed (theta, phi) rotations in units of pi; each cloud is listed once per
            rotation with ``view_rotation`` set (read by ``largekernel.ViewRotation``). The official evaluation:
            ``OFFICIAL_TEST_ROTATIONS``.
    """

    def __init__(self, data_root, *, split='train', prefix='modelnet40', source='txt', test_rotations=None,
                 pipeline=(), **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"ModelNet40: split={split!r}; valid: 'train', 'test'")
        if source not in ('txt', 'fps_cache'):
            raise ValueError(f"ModelNet40: source={source!r}; valid: 'txt' (class folders), 'fps_cache' (the official "
                             '8192-point .dat files)')
        self.split, self.prefix, self.source = split, prefix, source
        self.test_rotations = None if test_rotations is None else [tuple(map(float, r)) for r in test_rotations]
        if self.test_rotations is not None and (not self.test_rotations
                                                or any(len(r) != 2 for r in self.test_rotations)):
            raise ValueError(f'ModelNet40: test_rotations={test_rotations!r}; expected (theta, phi) pairs')
        super().__init__(data_root=data_root, pipeline=list(pipeline), **kwargs)

    def load_data_list(self):
        classes = _read_lines(osp.join(self.data_root, f'{self.prefix}_shape_names.txt'))
        self._metainfo['classes'] = tuple(classes)
        label_of = {name: i for i, name in enumerate(classes)}
        data_list = []
        shape_ids = _read_lines(osp.join(self.data_root, f'{self.prefix}_{self.split}.txt'))
        for shape_id in shape_ids:
            name = shape_id.rsplit('_', 1)[0]
            if name not in label_of:
                raise ValueError(f'ModelNet40: shape {shape_id!r} of class {name!r}, which is not in '
                                 f'{self.prefix}_shape_names.txt ({len(classes)} classes)')
            info = dict(shape_id=shape_id, gt_label=label_of[name])
            if self.source == 'txt':
                info['points_path'] = osp.join(self.data_root, name, f'{shape_id}.txt')
                if not osp.isfile(info['points_path']):
                    raise FileNotFoundError(f'ModelNet40: {info["points_path"]} (listed in '
                                            f'{self.prefix}_{self.split}.txt) not found')
            data_list.append(info)
        if self.source == 'fps_cache':
            self._attach_cache(data_list)
        if self.test_rotations is not None:
            data_list = [dict(info, view_rotation=r) for info in data_list for r in self.test_rotations]
        return data_list

    def _attach_cache(self, data_list):
        path = osp.join(self.data_root, f'{self.prefix}_{self.split}_8192pts_fps.dat')
        if not osp.isfile(path):
            raise FileNotFoundError(f"ModelNet40: {path} not found (source='fps_cache' reads the official processed "
                                    "data; source='txt' reads the class folders)")
        with open(path, 'rb') as f:
            content = _NumpyUnpickler(f).load()
        if not (isinstance(content, (tuple, list)) and len(content) == 2):
            raise ValueError(f'{path}: expected a pickled (points, labels) pair, got {type(content).__name__}')
        points, labels = content
        if len(points) != len(data_list) or len(labels) != len(data_list):
            raise ValueError(f'{path}: {len(points)} clouds and {len(labels)} labels for the {len(data_list)} '
                             f'shapes of {self.prefix}_{self.split}.txt')
        for i, (info, cloud, label) in enumerate(zip(data_list, points, labels)):
            label = int(np.asarray(label).reshape(-1)[0])
            if label != info['gt_label']:
                raise ValueError(f'{path}: cloud {i} has label {label}, but {info["shape_id"]} is of class '
                                 f'{info["gt_label"]}')
            info['points'] = np.asarray(cloud, dtype=np.float32)


@DATASETS.register_module()
class ScanObjectNN(BaseDataset):
    """ScanObjectNN (Uy et al., ICCV 2019): 15 classes of real scanned objects, 2048 points each, from the HDF5
    files of its release (``h5_files/``)::

        data_root/                                           (h5_files)
            main_split/training_objectdataset_augmentedrot_scale75.h5    variant 'hardest' (PB_T50_RS)
            main_split/test_objectdataset_augmentedrot_scale75.h5
            main_split/{training,test}_objectdataset.h5                   variant 'obj_bg'
            main_split_nobg/{training,test}_objectdataset.h5              variant 'obj_only'

    Each file holds ``data`` (N, 2048, 3) float and ``label`` (N,) int in [0, 15); the clouds are loaded into memory
    (``LoadPointCloud`` checks them). ``test_rotations`` as ``ModelNet40``.
    """

    CLASSES = ('bag', 'bed', 'bin', 'box', 'cabinet', 'chair', 'desk', 'display', 'door', 'pillow', 'shelf', 'sink',
               'sofa', 'table', 'toilet')
    VARIANTS = {'hardest': ('main_split', 'objectdataset_augmentedrot_scale75'),
                'obj_bg': ('main_split', 'objectdataset'), 'obj_only': ('main_split_nobg', 'objectdataset')}

    def __init__(self, data_root, *, split='train', variant='hardest', test_rotations=None, pipeline=(), **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"ScanObjectNN: split={split!r}; valid: 'train', 'test'")
        if variant not in self.VARIANTS:
            raise ValueError(f'ScanObjectNN: variant={variant!r}; valid: {sorted(self.VARIANTS)}')
        self.split, self.variant = split, variant
        self.test_rotations = None if test_rotations is None else [tuple(map(float, r)) for r in test_rotations]
        super().__init__(data_root=data_root, pipeline=list(pipeline), metainfo=dict(classes=self.CLASSES), **kwargs)

    def load_data_list(self):
        import h5py
        folder, stem = self.VARIANTS[self.variant]
        path = osp.join(self.data_root, folder, f'{"training" if self.split == "train" else "test"}_{stem}.h5')
        if not osp.isfile(path):
            raise FileNotFoundError(f'ScanObjectNN: {path} not found (variant {self.variant!r}; data_root is the '
                                    "release's h5_files folder, see largekernel/datasets/point_cloud.py)")
        with h5py.File(path, 'r') as f:
            missing = {'data', 'label'} - set(f)
            if missing:
                raise KeyError(f'{path}: no {sorted(missing)} dataset; a ScanObjectNN file holds data and label')
            points, labels = np.asarray(f['data'], dtype=np.float32), np.asarray(f['label']).reshape(-1)
        if points.ndim != 3 or points.shape[2] < 3 or len(points) != len(labels):
            raise ValueError(f'{path}: data of shape {points.shape} and {len(labels)} labels; expected (N, P, 3) and N')
        bad = (labels < 0) | (labels >= len(self.CLASSES))
        if bad.any():
            raise ValueError(f'{path}: label {int(labels[bad][0])} at index {int(np.flatnonzero(bad)[0])}; valid: '
                             f'0..{len(self.CLASSES) - 1}')
        data_list = [dict(shape_id=f'{self.split}_{i:05d}', points=cloud, gt_label=int(label))
                     for i, (cloud, label) in enumerate(zip(points, labels))]
        if self.test_rotations is not None:
            data_list = [dict(info, view_rotation=r) for info in data_list for r in self.test_rotations]
        return data_list


class _NumpyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays (and the containers holding them) only: any other global is refused."""

    ALLOWED = {('numpy', 'ndarray'), ('numpy', 'dtype'), ('numpy.core.multiarray', '_reconstruct'),
               ('numpy._core.multiarray', '_reconstruct'), ('numpy.core.multiarray', 'scalar'),
               ('numpy._core.multiarray', 'scalar')}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f'refusing to unpickle {module}.{name}: an FPS cache holds numpy arrays '
                                         'only')
        return super().find_class(module, name)


@TRANSFORMS.register_module()
class LoadPointCloud(BaseTransform):
    """Read ``points_path`` (one point a line, comma or white-space separated) into ``points`` (N, 3), or (N, 6)
    with ``use_normals`` (without a path: keep those columns of the ``points`` already loaded). Refuses fewer than
    3 (6) columns or non-finite values."""

    def __init__(self, *, use_normals=False):
        self.columns = 6 if use_normals else 3

    def transform(self, results):
        if 'points_path' not in results:  # already in memory (ModelNet40(source='fps_cache'))
            points = results['points']
            if points.ndim != 2 or points.shape[1] < self.columns:
                raise ValueError(f'{results.get("shape_id", "cloud")}: points of shape {points.shape}; expected (N, '
                                 f'{self.columns}) or more columns')
            results['points'] = check_points(points[:, :self.columns], results.get('shape_id', 'cloud'))
            return results
        path = results['points_path']
        with open(path) as f:
            text = f.read().replace(',', ' ')
        points = np.array(text.split(), dtype=np.float32)
        lines = [line for line in text.splitlines() if line.strip()]
        width = len(lines[0].split()) if lines else 0
        if width < self.columns or points.size != width * len(lines):
            raise ValueError(f'{path}: {len(lines)} lines of {width} values; expected a point a line with at least '
                             f'{self.columns} values (x, y, z{", nx, ny, nz" if self.columns == 6 else ""})')
        results['points'] = check_points(points.reshape(len(lines), width)[:, :self.columns], path)
        return results


def check_points(points, where):
    """``points`` (N, >= 3) unchanged, or a ValueError naming ``where`` and the bad values."""
    if points.ndim != 2 or points.shape[1] < 3:
        raise ValueError(f'{where}: points of shape {points.shape}; expected (N, 3) x, y, z (or more columns)')
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(f'{where}: {bad.sum()} of {len(points)} points have NaN or infinite coordinates '
                         f'(first at row {rows[0]}: {points[rows[0]].tolist()}); clouds must be finite')
    return points


@TRANSFORMS.register_module()
class NormalizePoints(BaseTransform):
    """Centre ``points`` at their centroid and scale them into the unit sphere (PointNet++'s ``pc_normalize``)."""

    def transform(self, results):
        points = results['points'].copy()
        xyz = points[:, :3] - points[:, :3].mean(axis=0)
        radius = np.sqrt((xyz ** 2).sum(axis=1)).max()
        if not radius > 0:
            raise ValueError(f'{results.get("points_path", "cloud")}: all {len(points)} points coincide; a cloud '
                             'needs an extent to be normalised')
        points[:, :3] = xyz / radius
        results['points'] = points
        return results


@TRANSFORMS.register_module()
class PermuteAxes(BaseTransform):
    """Reorder and flip the axes of ``points`` (normals alike). The official loader's ``(2, 0, 1)`` with signs
    ``(-1, -1, 1)`` puts ModelNet's up axis (y) last, so the viewpoints look at the shapes from the side."""

    def __init__(self, *, order=(2, 0, 1), signs=(-1, -1, 1)):
        if sorted(order) != [0, 1, 2] or len(signs) != 3 or any(abs(s) != 1 for s in signs):
            raise ValueError(f'PermuteAxes: order={order}, signs={signs}; expected a permutation of (0, 1, 2) and '
                             'three signs +-1')
        self.order, self.signs = list(order), np.asarray(signs, dtype=np.float32)

    def transform(self, results):
        points = results['points'].copy()
        for start in range(0, points.shape[1] - points.shape[1] % 3, 3):
            points[:, start:start + 3] = points[:, start:start + 3][:, self.order] * self.signs
        results['points'] = points
        return results


def farthest_point_sample(xyz, num_points, start=0):
    """Indices of ``num_points`` points of ``xyz`` (N, 3) by iterative farthest-point sampling from ``start``."""
    coords = [np.ascontiguousarray(xyz[:, i], dtype=np.float64) for i in range(3)]
    chosen = np.empty(num_points, dtype=np.int64)
    dist = np.full(len(xyz), np.inf)
    d, t = np.empty(len(xyz)), np.empty(len(xyz))
    current = start
    for i in range(num_points):  # in-place updates: this loop is the pipeline's hot spot
        chosen[i] = current
        for axis, c in enumerate(coords):
            out = d if axis == 0 else t
            np.subtract(c, c[current], out=out)
            np.square(out, out=out)
            if axis:
                d += t
        np.minimum(dist, d, out=dist)
        current = int(dist.argmax())
    return chosen


def _too_few(results, have, need, name):
    return ValueError(f'{results.get("points_path", "cloud")}: {have} points, {name} needs at least {need} (use '
                      'fewer points, or a denser sampling of the shape)')


@TRANSFORMS.register_module()
class FarthestPointSample(BaseTransform):
    """Keep ``num_points`` points by farthest-point sampling. ``random_start=False`` starts from the first point
    (deterministic: the official test, whose CUDA op starts at index 0); ``True`` from a random one (the official
    training shuffles the points first). ``allow_fewer``: a smaller cloud is kept whole (the official training's
    4800-point step) instead of refused."""

    def __init__(self, *, num_points, random_start=False, allow_fewer=False):
        self.num_points, self.random_start, self.allow_fewer = num_points, random_start, allow_fewer

    def transform(self, results):
        points = results['points']
        if len(points) < self.num_points and not self.allow_fewer:
            raise _too_few(results, len(points), self.num_points, 'FarthestPointSample')
        num = min(self.num_points, len(points))
        start = np.random.randint(len(points)) if self.random_start else 0
        results['points'] = points[farthest_point_sample(points[:, :3], num, start=start)]
        return results


@TRANSFORMS.register_module()
class RandomPointSubset(BaseTransform):
    """Keep ``num_points`` points drawn at random without replacement (in random order)."""

    def __init__(self, *, num_points):
        self.num_points = num_points

    def transform(self, results):
        points = results['points']
        if len(points) < self.num_points:
            raise _too_few(results, len(points), self.num_points, 'RandomPointSubset')
        results['points'] = points[np.random.choice(len(points), self.num_points, replace=False)]
        return results


def _axis_rotation(angle, axis):
    """Rodrigues' rotation matrix by ``angle`` (radians) about the unit ``axis``."""
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k


def rotation_theta_phi(theta, phi):
    """The official viewpoint rotation of a cloud by azimuth ``theta`` and elevation ``phi`` (radians): about the
    vertical axis by -theta, after a turn by -phi about the horizontal axis (sin theta, -cos theta, 0)."""
    return _axis_rotation(-theta, (0.0, 0.0, 1.0)) @ _axis_rotation(-phi, (math.sin(theta), -math.cos(theta), 0.0))


@TRANSFORMS.register_module()
class ViewRotation(BaseTransform):
    """``view_points``: ``points`` rotated by (theta, phi) in units of pi: the entry's ``view_rotation`` if set
    (fixed test rotations, see ``ModelNet40(test_rotations=...)``), else drawn uniformly from ``theta`` x ``phi``
    (the official training: theta in [0.04, 1.94], phi in [-0.4, -0.2])."""

    def __init__(self, *, theta=(0.04, 1.94), phi=(-0.4, -0.2)):
        self.theta, self.phi = tuple(theta), tuple(phi)

    def transform(self, results):
        if 'view_rotation' in results:
            theta, phi = results['view_rotation']
        else:
            theta, phi = np.random.uniform(*self.theta), np.random.uniform(*self.phi)
        rot = rotation_theta_phi(theta * math.pi, phi * math.pi).astype(np.float32)
        points = results['points']
        view = points.copy()
        for start in range(0, points.shape[1] - points.shape[1] % 3, 3):
            view[:, start:start + 3] = points[:, start:start + 3] @ rot.T
        results['view_points'] = view
        return results


@TRANSFORMS.register_module()
class RandomScaleTranslate(BaseTransform):
    """Scale each axis of ``view_points`` by a factor from ``scale`` and shift it by up to +-``translate``
    (the official ``PointcloudScaleAndTranslate``; the feature copy ``points`` is left as it is)."""

    def __init__(self, *, scale=(2 / 3, 3 / 2), translate=0.2):
        self.scale, self.translate = tuple(scale), translate

    def transform(self, results):
        view = results['view_points'].copy()
        view[:, :3] = (view[:, :3] * np.random.uniform(*self.scale, size=3)
                       + np.random.uniform(-self.translate, self.translate, size=3)).astype(view.dtype)
        results['view_points'] = view
        return results


@TRANSFORMS.register_module()
class PackPointCloudInputs(BaseTransform):
    """``inputs`` (N, 6) = xyz of ``points`` | xyz of ``view_points`` (``points`` again without a view copy) and
    an mmpretrain ``DataSample`` with ``gt_label`` and the meta keys present."""

    def __init__(self, *, meta_keys=('sample_idx', 'shape_id', 'points_path', 'view_rotation')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results):
        points = check_points(results['points'], results.get('points_path', 'cloud'))
        view = results.get('view_points', points)
        sample = DataSample().set_gt_label(results['gt_label'])
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        inputs = torch.from_numpy(np.concatenate([points[:, :3], view[:, :3]], axis=1).astype(np.float32))
        return dict(inputs=inputs, data_samples=sample)
