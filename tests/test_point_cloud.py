"""Point-cloud classification (UniRepLKNet §3.3 eq. 4, Tables 10-11): the P2P-style projection against the geometry
and independent references, the ModelNet-40 layout loader and transforms, the configs' model sizes, the deploy twin,
bad input, and training through the Runner / tools on the committed small data."""
import glob
import importlib.util
import math
import os.path as osp
import pickle
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope
from scipy.spatial.transform import Rotation
from sklearn.neighbors import NearestNeighbors

import largekernel  # noqa: F401  (registers the modules)
from largekernel.datasets.point_cloud import (OFFICIAL_TEST_ROTATIONS, FarthestPointSample, LoadPointCloud,
                                              ModelNet40, NormalizePoints, PackPointCloudInputs, PermuteAxes,
                                              RandomPointSubset, ScanObjectNN, ViewRotation, farthest_point_sample,
                                              rotation_theta_phi)
from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.models.embedders.point_cloud import (VIEW_ANGLES, EdgeConvEncoder, PointCloudDataPreprocessor,
                                                      PointToPixelEmbedder, euler_to_matrix, knn_indices,
                                                      pixel_indices)
from largekernel.utils import count_params
from largekernel.utils.model import build_model_from_config, switch_to_deploy
from largekernel.utils.model_index import get_model

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG_DIR = osp.join(ROOT, 'configs', 'unireplknet', 'point_cloud')
FULL = osp.join(CFG_DIR, 'p2p_unireplknet-s_1xb16-300e_modelnet40.py')
SMALL = osp.join(CFG_DIR, 'p2p_unireplknet-mini_1xb16-20e_fashion-mnist-points.py')
SCAN = osp.join(CFG_DIR, 'p2p_unireplknet-s_1xb16-300e_scanobjectnn-hardest.py')
FIXTURES = osp.join(ROOT, 'tests', 'data', 'point_cloud')
SMALL_DATA = osp.join(ROOT, 'data', 'fashion_mnist_points')
TASK, DATASET = 'Point Cloud Classification', 'ModelNet-40'


def _ablation_rows():
    with open(osp.join(ROOT, 'configs', 'unireplknet', 'metafile.yml')) as f:
        rows = yaml.safe_load(f)['Ablations']
    return [r for r in rows if r['Config'].startswith('configs/unireplknet/point_cloud/')]


# -- model sizes ------------------------------------------------------------------------------------------------------
def test_modelnet40_model_has_the_official_models_parameter_count():
    """Table 10 prints no size: the metafile's Reference is the official model's count (P2P projection + UniRepLKNet-S
    + 4-view head, training form). Exact: it is a count of the same layers, not a rounded publication."""
    entry = get_model('p2p_unireplknet-s_1xb16-300e_modelnet40')
    assert entry.metric(TASK, DATASET, 'OA') is not None and entry.metric(TASK, DATASET, 'mAcc') is not None
    cfg = Config.fromfile(FULL)
    with torch.device('meta'):
        model = build_model_from_config(cfg)
    assert count_params(model) == entry.target('Parameters')
    # the projection alone, layer by layer as the official encoder declares them (k=32, 8 -> 64 channels, 4 views)
    c, t, d = 64, 8, 128
    official_projection = ((3 * t + t) + (2 * t * c + 2 * c) + (c * c + c)  # lift, edge conv + GroupNorm, proj
                           + (2 * (9 * c * c + 2 * c) + c * c + c)  # BasicBlock + 1 x 1
                           + (49 * c * d + 2 * d + d * 3 * 8 * 128 + (8 * 128 * d + d) + 2 * d  # fusion: patches,
                              + (d * 256 + 256) + (256 * d + d)  # one transformer layer,
                              + (9 * d * c + c) + (2 * c * c + c))  # 3 x 3 refine, 1 x 1 merge
                           + (3 * c + 3))  # coloring
    assert count_params(model.embedder) == official_projection
    assert count_params(model.head) == 2 * 4 * 768 + (4 * 768 * 40 + 40)  # LayerNorm + Linear over the 4 views


def test_table11_ablations_are_listed_and_build_with_their_backbones():
    rows = {r['Name']: r for r in _ablation_rows()}
    configs = glob.glob(osp.join(CFG_DIR, 'ablations', '*.py'))
    assert sorted(rows) == sorted(osp.splitext(osp.basename(p))[0] for p in configs)
    base = Config.fromfile(FULL)
    for name, row in rows.items():
        assert row['Epochs'] == base.train_cfg.max_epochs
        oa = row['Results'][0]['Metrics']['OA']
        assert row['Results'][0]['Task'] == TASK and 90 < oa < get_model(
            'p2p_unireplknet-s_1xb16-300e_modelnet40').metric(TASK, DATASET, 'OA')  # K=13 is the best row
        cfg = Config.fromfile(osp.join(ROOT, row['Config']))
        assert cfg.model.embedder == base.model.embedder and cfg.train_dataloader == base.train_dataloader
        model = build_model_from_config(cfg)
        feats = model.backbone(torch.zeros(1, 3, 64, 64))
        assert feats[-1].shape[1] == cfg.model.head.in_channels
        if 'k11' in name:
            kernels = {k for stage in model.backbone.kernel_sizes for k in stage}
            assert kernels == {3, 11}


# -- geometry of the projection ---------------------------------------------------------------------------------------
def test_view_rotations_are_the_official_euler_angles():
    """Rx(a) Ry(b) Rz(c) of each viewpoint = scipy's intrinsic 'XYZ' rotation."""
    angles = torch.tensor(VIEW_ANGLES, dtype=torch.float64)
    expected = Rotation.from_euler('XYZ', angles.numpy()).as_matrix()
    np.testing.assert_allclose(euler_to_matrix(angles).numpy(), expected, atol=1e-12)


def test_a_point_lands_on_the_pixel_its_coordinates_say():
    """Grid 10: the longer side (x, extent 1) spans 7 cells of 1/7; a point marks its cell and the 8 around it, and
    the footprints are centred on the grid. x -> row, y -> column."""
    g = 10
    xy = torch.tensor([[[0.0, 0.0], [1.0, 0.5], [3 / 7 + 1e-3, 2 / 7 + 1e-3]]], dtype=torch.float64)
    index = pixel_indices(xy, g).reshape(3, 9)
    rows, cols = index // g, index % g
    # cells: (0, 0), (7, 3), (3, 2); +1 for the footprint's border; rows already span 0..9, columns 0..5 are shifted by
    # 10 // 2 - 1 - floor((0 + 5) / 2) = 2 to be centred
    centres = [(1, 3), (8, 6), (4, 5)]
    for p, (r, c) in enumerate(centres):
        assert sorted(zip(rows[p].tolist(), cols[p].tolist())) == [(r + i, c + j) for i in (-1, 0, 1)
                                                                   for j in (-1, 0, 1)]
    assert index.min() >= 0 and index.max() < g * g


def test_projection_is_scale_and_shift_invariant_and_keeps_the_aspect_ratio():
    xy = torch.rand(2, 50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    base = pixel_indices(xy, 16)
    assert torch.equal(base, pixel_indices(3.5 * xy - 2.0, 16))
    squashed = xy * torch.tensor([1.0, 0.25], dtype=torch.float64)  # y extent a quarter of x's: few columns used
    cols = pixel_indices(squashed, 16) % 16
    assert cols.max() - cols.min() + 1 <= math.ceil(0.25 * 13) + 3


def test_embedder_scatters_each_point_feature_on_its_nine_pixels():
    emb = PointToPixelEmbedder(num_views=1, grid_size=12, image_size=16, k=2, fusion=None).double()
    points = torch.tensor([[[0.1, 0.2, 0.3], [0.9, 0.4, -0.2], [0.5, 0.8, 0.1]]], dtype=torch.float64)
    feats = torch.arange(1, 4, dtype=torch.float64).view(1, 3, 1).expand(1, 3, 2)
    grid = emb.scatter(feats, emb.project(points))
    assert grid.shape == (1, 2, 12, 12)
    assert grid[0, 0].sum() == 9 * (1 + 2 + 3)  # nothing lost, nothing doubled
    # the rotated cloud's xy, by hand: view 0 is Rz(pi/2) (x, y) -> (-y, x)
    rotated = points[0] @ euler_to_matrix(torch.tensor(VIEW_ANGLES[0], dtype=torch.float64)).T
    assert torch.equal(emb.project(points), pixel_indices(rotated[None, :, :2], 12))


def test_knn_and_edge_conv_match_references():
    gen = torch.Generator().manual_seed(1)
    pts = torch.rand(2, 40, 3, dtype=torch.float64, generator=gen)
    idx = knn_indices(pts, 5)
    for b in range(2):
        ref = NearestNeighbors(n_neighbors=5).fit(pts[b].numpy()).kneighbors(pts[b].numpy(), return_distance=False)
        assert all(set(a) == set(r) for a, r in zip(idx[b].tolist(), ref.tolist()))
    enc = EdgeConvEncoder(k=5, lift_channels=4, out_channels=8, num_groups=2).double().eval()
    out = enc(pts)
    lifted = enc.input_trans(pts.transpose(1, 2)).transpose(1, 2)  # (B, N, 4)
    conv, gn, act = enc.graph_layer
    for b in range(2):
        edges = torch.stack([torch.cat([lifted[b, j] - lifted[b, i], lifted[b, i]])
                             for i in range(40) for j in idx[b, i]]).view(40, 5, 8)
        h = F.conv2d(edges.permute(2, 0, 1)[None], conv.weight)
        h = act(gn(h))[0].amax(dim=-1)  # (8, N)
        expected = enc.proj_layer(h[None])[0].T
        torch.testing.assert_close(out[b], expected)


def test_view_rotation_is_the_official_theta_phi_rotation():
    """Rotation by -theta about z after -phi about (sin theta, -cos theta, 0) (scipy's rotation vectors)."""
    theta, phi = 0.7 * math.pi, -0.3 * math.pi
    axis = np.array([math.sin(theta), -math.cos(theta), 0.0])
    expected = (Rotation.from_rotvec([0, 0, -theta]) * Rotation.from_rotvec(-phi * axis)).as_matrix()
    np.testing.assert_allclose(rotation_theta_phi(theta, phi), expected, atol=1e-12)
    pts = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    out = ViewRotation()(dict(points=pts, view_rotation=(0.7, -0.3)))
    np.testing.assert_allclose(out['view_points'], pts @ expected.T, atol=1e-5)
    assert OFFICIAL_TEST_ROTATIONS[0] == (0.1, -0.35) and OFFICIAL_TEST_ROTATIONS[-1] == (1.7625, -0.35)
    assert [tuple(r) for r in Config.fromfile(FULL).val_dataloader.dataset.test_rotations] == list(
        OFFICIAL_TEST_ROTATIONS)


def test_farthest_point_sampling_picks_the_farthest_point_each_time():
    xyz = np.random.default_rng(2).normal(size=(200, 3))
    chosen = farthest_point_sample(xyz, 20)
    assert chosen[0] == 0 and len(set(chosen.tolist())) == 20
    for i in range(1, 20):
        dist = np.linalg.norm(xyz[:, None] - xyz[chosen[:i]][None], axis=-1).min(axis=1)
        assert chosen[i] == dist.argmax()
    assert farthest_point_sample(xyz, 5, start=7)[0] == 7
    np.random.seed(0)
    starts = {FarthestPointSample(num_points=3, random_start=True)(dict(points=xyz.copy()))['points'][0, 0]
              for _ in range(5)}
    assert len(starts) > 1  # training starts from random points


def test_label_smoothing_of_the_config_is_the_official_one():
    """1 - 0.2 on the true class, 0.2 / 39 on each other (the official trainer) = LabelSmoothLoss(0.2 * 40 / 39)."""
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    loss = MODELS.build(Config.fromfile(FULL).model.head.loss)
    logits = torch.randn(6, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    target = torch.tensor([0, 5, 39, 7, 7, 1])
    one_hot = F.one_hot(target, 40).double()
    smooth = one_hot * 0.8 + (1 - one_hot) * 0.2 / 39
    expected = -(smooth * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    torch.testing.assert_close(loss(logits, target), expected)


# -- loaders on the full-layout fixtures ------------------------------------------------------------------------------
def test_modelnet40_layout_loads_with_labels_and_rotations():
    train = ModelNet40(FIXTURES, split='train', pipeline=[dict(type='largekernel.LoadPointCloud')])
    classes = train.metainfo['classes']
    assert len(classes) == 40 and len(train) == 6
    assert [train[i]['gt_label'] for i in range(6)] == [classes.index(n) for n in ('cone',) * 2 + ('cup',) * 2
                                                          + ('xbox',) * 2]
    assert train[0]['points'].shape == (48, 3) and train[0]['shape_id'] == 'cone_0001'
    test = ModelNet40(FIXTURES, split='test', test_rotations=OFFICIAL_TEST_ROTATIONS[:2])
    assert len(test) == 6 and [test[i]['view_rotation'] for i in range(2)] == list(OFFICIAL_TEST_ROTATIONS[:2])
    small = ModelNet40(SMALL_DATA, split='test', prefix='fashionmnist10')
    assert len(small) == 120 and len(small.metainfo['classes']) == 10


def test_official_fps_cache_gives_the_same_clouds_and_refuses_other_objects(tmp_path):
    """source='fps_cache': the official processed .dat pickles (numpy arrays only) load as the txt layout does."""
    pipeline = [dict(type='largekernel.LoadPointCloud', use_normals=True)]
    for split in ('train', 'test'):
        txt = ModelNet40(FIXTURES, split=split, pipeline=pipeline)
        cache = ModelNet40(FIXTURES, split=split, source='fps_cache', pipeline=pipeline)
        assert len(cache) == len(txt)
        for i in range(len(txt)):
            a, b = txt[i], cache[i]
            assert a['gt_label'] == b['gt_label'] and a['shape_id'] == b['shape_id']
            np.testing.assert_array_equal(a['points'], b['points'])
    for name in ('modelnet40_shape_names.txt', 'modelnet40_train.txt'):
        (tmp_path / name).write_text(open(osp.join(FIXTURES, name)).read())

    class Payload:
        def __reduce__(self):
            return (print, ('unpickled',))
    with open(tmp_path / 'modelnet40_train_8192pts_fps.dat', 'wb') as f:
        pickle.dump(([Payload()], [np.zeros(1)]), f)
    with pytest.raises(pickle.UnpicklingError, match='refusing to unpickle builtins.print'):
        ModelNet40(str(tmp_path), source='fps_cache')
    clouds = [np.zeros((8, 6), np.float32)] * 6
    with open(tmp_path / 'modelnet40_train_8192pts_fps.dat', 'wb') as f:
        pickle.dump((clouds, [np.array([9])] * 6), f)
    with pytest.raises(ValueError, match='cloud 2 has label 9, but cup_0001 is of class 10'):
        ModelNet40(str(tmp_path), source='fps_cache')
    with open(tmp_path / 'modelnet40_train_8192pts_fps.dat', 'wb') as f:
        pickle.dump((clouds[:5], [np.array([9])] * 5), f)
    with pytest.raises(ValueError, match='5 clouds and 5 labels for the 6 shapes'):
        ModelNet40(str(tmp_path), source='fps_cache')


def _write_scanobjectnn(root, folder='main_split', stem='objectdataset_augmentedrot_scale75', n=5, labels=None):
    """The release layout (h5_files/<folder>/{training,test}_<stem>.h5) with ``n`` random 64-point clouds."""
    import h5py
    rng = np.random.default_rng(0)
    (root / folder).mkdir(parents=True, exist_ok=True)
    for split in ('training', 'test'):
        with h5py.File(root / folder / f'{split}_{stem}.h5', 'w') as f:
            f['data'] = rng.uniform(-1, 1, (n, 64, 3)).astype(np.float32)
            f['label'] = np.asarray(labels if labels is not None else np.arange(n) % 15, dtype=np.int64)
    return rng


def test_scanobjectnn_release_layout_loads_each_variant(tmp_path):
    _write_scanobjectnn(tmp_path)
    _write_scanobjectnn(tmp_path, folder='main_split_nobg', stem='objectdataset')
    train = ScanObjectNN(str(tmp_path), split='train', pipeline=[dict(type='largekernel.LoadPointCloud')])
    assert len(train) == 5 and train.metainfo['classes'][14] == 'toilet'
    assert [train[i]['gt_label'] for i in range(5)] == [0, 1, 2, 3, 4] and train[0]['points'].shape == (64, 3)
    test = ScanObjectNN(str(tmp_path), split='test', variant='obj_only', test_rotations=OFFICIAL_TEST_ROTATIONS[:2])
    assert len(test) == 10 and test[1]['view_rotation'] == OFFICIAL_TEST_ROTATIONS[1]
    with pytest.raises(FileNotFoundError, match="training_objectdataset.h5 not found \\(variant 'obj_bg'"):
        ScanObjectNN(str(tmp_path), variant='obj_bg')
    with pytest.raises(ValueError, match="variant='pb_t25'; valid"):
        ScanObjectNN(str(tmp_path), variant='pb_t25')


def test_scanobjectnn_refuses_bad_labels_and_non_finite_points(tmp_path):
    import h5py
    _write_scanobjectnn(tmp_path, labels=[0, 1, 15, 2, 3])
    with pytest.raises(ValueError, match='label 15 at index 2; valid: 0..14'):
        ScanObjectNN(str(tmp_path))
    _write_scanobjectnn(tmp_path)
    with h5py.File(tmp_path / 'main_split' / 'training_objectdataset_augmentedrot_scale75.h5', 'r+') as f:
        data = f['data'][()]
        data[3, 7, 1] = np.nan
        f['data'][...] = data
    ds = ScanObjectNN(str(tmp_path), pipeline=[dict(type='largekernel.LoadPointCloud')])
    with pytest.raises(ValueError, match='train_00003: 1 of 64 points have NaN'):
        ds[3]


def test_scanobjectnn_config_runs_its_pipelines_and_builds_a_15_class_model(tmp_path):
    _write_scanobjectnn(tmp_path)
    cfg = Config.fromfile(SCAN)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        args = {k: v for k, v in loader.dataset.items() if k not in ('type', 'data_root', 'pipeline')}
        pipeline = [dict(t, num_points=64) if 'num_points' in t else dict(t) for t in loader.dataset.pipeline]
        ds = ScanObjectNN(str(tmp_path), pipeline=pipeline, **args)
        out = ds[0]
        assert out['inputs'].shape == (64, 6) and out['data_samples'].gt_label.item() == 0
    assert len(cfg.val_dataloader.dataset.test_rotations) == 8
    assert cfg.model.head.num_classes == 15
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    loss = MODELS.build(cfg.model.head.loss)  # the official smoothing: 0.8 on the true class, 0.2 / 14 elsewhere
    logits = torch.randn(4, 15, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([0, 3, 14, 3])
    one_hot = F.one_hot(target, 15).double()
    expected = -((one_hot * 0.8 + (1 - one_hot) * 0.2 / 14) * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    torch.testing.assert_close(loss(logits, target), expected)


def test_pipelines_of_the_configs_run_on_the_fixtures():
    for path in (FULL, SMALL):
        cfg = Config.fromfile(path)
        for loader, n in ((cfg.train_dataloader, 40), (cfg.val_dataloader, 30)):
            pipeline = [dict(t) for t in loader.dataset.pipeline]
            for t in pipeline:  # the fixtures have 48 points
                if 'num_points' in t:
                    t['num_points'] = min(t['num_points'], n)
            ds = ModelNet40(FIXTURES, split='train', pipeline=pipeline,
                            test_rotations=loader.dataset.get('test_rotations'))
            out = ds[0]
            assert out['inputs'].shape == (n, 6) and out['data_samples'].gt_label.item() == 9
            pts = out['inputs'][:, :3].numpy()
            assert np.linalg.norm(pts, axis=1).max() <= 1 + 1e-5  # normalised into the unit sphere
            if loader is cfg.val_dataloader:
                assert torch.equal(out['inputs'], ds[0]['inputs'])  # deterministic


def test_normalize_and_permute_axes():
    pts = np.random.default_rng(4).normal(size=(30, 6)).astype(np.float32) * 5 + 3
    out = NormalizePoints()(dict(points=pts.copy()))['points']
    np.testing.assert_allclose(out[:, :3].mean(axis=0), 0, atol=1e-5)
    assert np.linalg.norm(out[:, :3], axis=1).max() == pytest.approx(1, abs=1e-6)
    np.testing.assert_array_equal(out[:, 3:], pts[:, 3:])
    perm = PermuteAxes()(dict(points=pts.copy()))['points']
    np.testing.assert_array_equal(perm[:, :3], pts[:, [2, 0, 1]] * [-1, -1, 1])
    np.testing.assert_array_equal(perm[:, 3:], pts[:, [5, 3, 4]] * [-1, -1, 1])


# -- re-parameterisation ----------------------------------------------------------------------------------------------
def test_deploy_twin_gives_the_training_forms_outputs():
    cfg = Config.fromfile(SMALL)
    torch.manual_seed(0)
    model = build_model_from_config(cfg).double().eval()
    randomize_bn_stats(model, torch.Generator().manual_seed(0))
    x = torch.rand(3, 96, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 2 - 1
    before = model(x)
    switch_to_deploy(model)
    torch.testing.assert_close(model(x), before, rtol=1e-10, atol=1e-10)
    deployed = build_model_from_config(cfg, deploy=True).double().eval()
    deployed.load_state_dict(model.state_dict())
    torch.testing.assert_close(deployed(x), before, rtol=1e-10, atol=1e-10)


# -- bad input --------------------------------------------------------------------------------------------------------
def _cloud_file(tmp_path, rows):
    path = tmp_path / 'chair_0001.txt'
    path.write_text('\n'.join(','.join(str(v) for v in r) for r in rows) + '\n')
    return str(path)


def test_bad_clouds_are_refused_naming_the_value(tmp_path):
    rows = np.random.default_rng(5).normal(size=(20, 6)).tolist()
    rows[7][1] = float('nan')
    with pytest.raises(ValueError, match=r'1 of 20 points have NaN or infinite coordinates \(first at row 7'):
        LoadPointCloud()(dict(points_path=_cloud_file(tmp_path, rows)))
    with pytest.raises(ValueError, match=r'20 lines of 2 values; expected a point a line with at least 3'):
        LoadPointCloud()(dict(points_path=_cloud_file(tmp_path, [r[:2] for r in rows])))
    with pytest.raises(ValueError, match=r'at least 6 values \(x, y, z, nx, ny, nz\)'):
        LoadPointCloud(use_normals=True)(dict(points_path=_cloud_file(tmp_path, [r[:3] for r in rows])))
    pts = np.zeros((10, 3), np.float32)
    with pytest.raises(ValueError, match='10 points, FarthestPointSample needs at least 16'):
        FarthestPointSample(num_points=16)(dict(points=pts))
    assert FarthestPointSample(num_points=16, allow_fewer=True)(dict(points=pts))['points'].shape == (10, 3)
    with pytest.raises(ValueError, match='10 points, RandomPointSubset needs at least 16'):
        RandomPointSubset(num_points=16)(dict(points=pts))
    with pytest.raises(ValueError, match='all 10 points coincide'):
        NormalizePoints()(dict(points=pts))
    with pytest.raises(ValueError, match=r'points of shape \(10, 2\); expected \(N, 3\)'):
        PackPointCloudInputs()(dict(points=pts[:, :2], gt_label=0))


def test_bad_batches_and_settings_are_refused():
    pre = PointCloudDataPreprocessor()
    with pytest.raises(ValueError, match=r'differ in shape \[\(8, 6\), \(9, 6\)\]'):
        pre(dict(inputs=[torch.zeros(8, 6), torch.zeros(9, 6)], data_samples=None))
    with pytest.raises(ValueError, match=r'inputs of shape \(2, 8, 3\); expected \(B, N, 6\)'):
        pre(dict(inputs=torch.zeros(2, 8, 3), data_samples=None))
    bad = torch.zeros(3, 8, 6)
    bad[1, 2, 4] = float('inf')
    with pytest.raises(ValueError, match=r'clouds \[1\] of the batch have NaN or infinite'):
        pre(dict(inputs=bad, data_samples=None))
    with pytest.raises(ValueError, match='k=32 nearest neighbours need at least k points; the cloud has 20'):
        PointToPixelEmbedder(num_views=1, grid_size=8, image_size=8, fusion=None)(torch.rand(1, 20, 3),
                                                                                 torch.rand(1, 20, 3))
    with pytest.raises(ValueError, match='grid_size=27: valid an even size'):
        PointToPixelEmbedder(grid_size=27, image_size=32)
    with pytest.raises(ValueError, match=r'num_views=11: valid 1..10'):
        PointToPixelEmbedder(num_views=11)
    with pytest.raises(ValueError, match="split='val'; valid: 'train', 'test'"):
        ModelNet40(FIXTURES, split='val')
    with pytest.raises(FileNotFoundError, match='modelnet10_shape_names.txt not found'):
        ModelNet40(FIXTURES, prefix='modelnet10')
    with pytest.raises(ValueError, match="source='h5'; valid: 'txt'"):
        ModelNet40(FIXTURES, source='h5')


# -- training ---------------------------------------------------------------------------------------------------------
def test_runner_smoke_two_iterations(tmp_path):
    from mmengine.runner import Runner
    cfg = Config.fromfile(SMALL)
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.dataset.indices = 32
    cfg.val_dataloader.dataset.indices = 8
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    assert 0 <= metrics['accuracy/top1'] <= 100 and 'single-label/recall' in metrics
    assert osp.isfile(tmp_path / 'epoch_1.pth')


def _tool(name):
    spec = importlib.util.spec_from_file_location(f'lk_pc_{name}', osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_small_data_config_trains_and_tests_above_chance(tmp_path, capsys):
    """tools/train.py then tools/test.py on the committed Fashion-MNIST point clouds (10 classes: chance 10%)."""
    work = str(tmp_path / 'work')
    _tool('train').main([SMALL, '--work-dir', work])
    ckpt = osp.join(work, 'epoch_20.pth')
    assert osp.isfile(ckpt)
    capsys.readouterr()
    _tool('test').main([SMALL, ckpt, '--work-dir', str(tmp_path / 'test')])
    out = capsys.readouterr()
    found = re.findall(r'accuracy/top1: ([\d.]+)\s+single-label/recall: ([\d.]+)', out.out + out.err)
    assert found, (out.out + out.err)[-2000:]
    oa, macc = map(float, found[-1])
    assert oa > 35 and macc > 35  # chance: 10
