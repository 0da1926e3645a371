"""Time-series forecasting (UniRepLKNet §3.3 Eq. 2, §4.2): the Corrformer embedding / decoder around UniRepLKNet,
the Global Temperature / Wind loaders on full-layout fixtures, the metrics, the published model size, the deploy
twin, bad input, and training on the committed small data (data/tmy_hourly_weather)."""
import glob
import math
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from mmengine.config import Config

import largekernel  # noqa: F401
from largekernel.datasets.time_series import (GlobalTempDataset, GlobalWindDataset, interpolate_missing,
                                              time_features)
from largekernel.evaluation.time_series import ForecastMetric
from largekernel.models.embedders.time_series import CorrformerForecaster, SeriesToMap, standardize_positions
from largekernel.models.heads.time_series import AutoCorrelation, SeriesDecomposition, roll_time
from largekernel.registry import MODELS
from largekernel.utils import count_params
from largekernel.utils.model import switch_to_deploy
from largekernel.utils.model_index import get_model

pytestmark = pytest.mark.usefixtures('single_thread')
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURES = osp.join(ROOT, 'tests', 'data', 'time_series')
CONFIGS = osp.join(ROOT, 'configs', 'unireplknet', 'time_series')
TEMP = osp.join(CONFIGS, 'corrformer_unireplknet-s_1xb1-10e_global-temp.py')
SMALL = osp.join(CONFIGS, 'corrformer_unireplknet-mini_1xb32-6e_tmy-temp.py')
SMALL_DATA = osp.join(ROOT, 'data', 'tmy_hourly_weather')
WINDOW = dict(seq_len=16, label_len=8, pred_len=8)


def tiny_model(num_stations=6, node_list=(2, 3), stations=None, deploy=False, **overrides):
    """A tiny forecaster on the fixtures' 6 stations (2 x 3 nodes of 1 station); layer scale 0.5 so that the blocks
    matter in the deploy check."""
    cfg = dict(
        type='largekernel.CorrformerForecaster', num_stations=num_stations, node_list=node_list, **WINDOW,
        embed_dims=16, map_size=(16, 16), moving_avg=5,
        embedder=dict(type='largekernel.CorrformerEmbedding', stations=stations),
        backbone=dict(type='largekernel.UniRepLKNet', in_channels=1, out_indices=(3,), layer_scale_init_value=0.5,
                      deploy=deploy,
                      arch=dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32), kernel_sizes=((3,), (7,), (5, 3), (3,)))),
        decoder=dict(type='largekernel.CorrformerDecoder', num_heads=2, ffn_dims=32))
    cfg.update(overrides)
    return MODELS.build(cfg)


def batch_of(dataset, indices):
    items = [dataset[i] for i in indices]
    inputs = {k: torch.from_numpy(np.stack([it['inputs'][k] for it in items])) for k in items[0]['inputs']}
    return inputs, dict(target=torch.from_numpy(np.stack([it['data_samples']['target'] for it in items])))


# -- published size and the embedding's reshape -------------------------------------------------------------------
def test_full_model_parameters_match_the_published_count():
    """Table 12: 132M. The official structure counted in its training form (the official Corrformer.py prints
    that count): our model has 131.98M; the official model definition also builds the backbone's unused 1000-class
    head (769k) where we keep the last stage's LayerNorm (its encoder output fits only a 768-channel map, see
    largekernel/models/embedders/time_series.py), 132.75M. Tolerance: half a unit of the printed "132M"."""
    entry = get_model('corrformer_unireplknet-s_1xb1-10e_global-temp')
    cfg = Config.fromfile(TEMP)
    cfg.model.embedder.stations = None  # the coordinates file is not needed for the count
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert entry.params_form == 'training'
    assert abs(count_params(model) - entry.params) <= 500_000, count_params(model)
    decoder = sum(p.numel() for p in model.decoder.parameters())
    tcn = 4 * (2304 * 2304 * 3 + 2 * 2304)  # per TCN: 2 weight-normed convs of 2304 = 768/16 * (24 + 24) channels
    assert sum(p.numel() for n, p in model.decoder.named_parameters() if 'causal_fusion' in n) == tcn
    assert decoder > 76e6 and 55e6 < count_params(model.backbone) < 56e6


def test_eq2_reshape_of_the_full_recipe():
    """Eq. 2 with the recipe's numbers: 3850 stations in 350 nodes of 11; (B*n, 48, 768) -> (B*n, 1, 192, 192); the
    last stage's 768 x 6 x 6 map -> 36 memory steps of 768."""
    cfg = Config.fromfile(TEMP).model
    assert cfg.num_stations // math.prod(cfg.node_list) == 11 and math.prod(cfg.node_list) == 350
    to_map = SeriesToMap(cfg.map_size, cfg.seq_len, cfg.embed_dims)
    series = torch.arange(2 * 48 * 768, dtype=torch.float32).reshape(2, 48, 768)
    image = to_map(series)
    assert image.shape == (2, 1, 192, 192) and torch.equal(image.flatten(1), series.flatten(1))
    with torch.device('meta'):
        backbone = MODELS.build(cfg.backbone)
        assert backbone(torch.zeros(2, 1, 192, 192))[-1].shape == (2, 768, 6, 6)
    assert backbone.kernel_sizes[3] == (11, 11, 11) and backbone.stages[0][0].dwconv.weight.shape[0] == 96
    with pytest.raises(ValueError, match=r'H \* W = seq_len \* embed_dims = 48 \* 768 = 36864'):
        SeriesToMap((190, 192), 48, 768)


def test_nodes_group_adjacent_stations_and_round_trip():
    model = tiny_model(num_stations=6, node_list=(3,))  # 3 nodes of 2 stations
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(2, 4, 6)
    nodes = model.to_nodes(x)
    assert nodes.shape == (6, 4, 2)
    assert torch.equal(nodes[1], x[0, :, 2:4]) and torch.equal(nodes[3], x[1, :, 0:2])
    assert torch.equal(model.from_nodes(nodes, 2), x)


# -- components ------------------------------------------------------------------------------------------------------
def test_decomposition_is_a_replicate_padded_moving_average():
    x = torch.randn(2, 30, 3, dtype=torch.float64)
    seasonal, trend = SeriesDecomposition(5)(x)
    padded = np.concatenate([np.repeat(x[:, :1].numpy(), 2, 1), x.numpy(), np.repeat(x[:, -1:].numpy(), 2, 1)], 1)
    reference = np.stack([padded[:, t:t + 5].mean(1) for t in range(30)], 1)
    np.testing.assert_allclose(trend.numpy(), reference, rtol=0, atol=1e-12)
    torch.testing.assert_close(seasonal + trend, x)


def test_auto_correlation_finds_the_period():
    """A series of period 6 correlates best at lags 0, 6, 12 (the top int(ln 24) = 3): the aggregation of the values
    rolled by those lags returns the series itself."""
    t = torch.arange(24, dtype=torch.float64)
    series = torch.sin(2 * math.pi * t / 6) + 0.3 * torch.cos(4 * math.pi * t / 6)
    q = series.reshape(1, 24, 1, 1)
    out = AutoCorrelation(factor=1)(q, q, q)
    torch.testing.assert_close(out, q)
    assert torch.equal(roll_time(series.reshape(1, 24), torch.tensor([6])), torch.roll(series, -6).reshape(1, 24))


def test_time_features_follow_the_official_timef_encoding():
    stamps = pd.to_datetime(['2019-03-05 13:00', '2020-12-31 23:00'])
    feats = time_features(np.asarray(stamps.strftime('%Y-%m-%d %H:%M:%S')), 'h')
    expected = [[13 / 23 - 0.5, 1 / 6 - 0.5, 4 / 30 - 0.5, 63 / 365 - 0.5],
                [0.5, 3 / 6 - 0.5, 30 / 30 - 0.5, 365 / 365 - 0.5]]
    np.testing.assert_allclose(feats, expected, rtol=0, atol=1e-6)
    assert time_features(stamps.to_numpy(), 'd').shape == (2, 3)
    with pytest.raises(ValueError, match="unsupported freq 'w'"):
        time_features(stamps, 'w')


def test_metric_is_the_mean_over_every_value():
    metric = ForecastMetric()
    preds = [torch.zeros(4, 3), torch.ones(4, 3)]
    targets = [torch.full((4, 3), 2.0), torch.full((4, 3), -1.0)]
    metric.process(None, [dict(pred=p, target=t) for p, t in zip(preds, targets)])
    assert metric.compute_metrics(metric.results) == dict(mse=(4 + 4) / 2, mae=(2 + 2) / 2)
    with pytest.raises(ValueError, match=r'pred \(4, 3\) and target \(4, 2\) differ'):
        metric.process(None, [dict(pred=torch.zeros(4, 3), target=torch.zeros(4, 2))])


def test_station_coordinates_are_standardised():
    coords = np.load(osp.join(FIXTURES, 'global_temp', 'stations_sorted.npy'))
    model = tiny_model(stations=osp.join(FIXTURES, 'global_temp', 'stations_sorted.npy'))
    positions = model.enc_embedding.positions.numpy()
    np.testing.assert_allclose(positions, (coords - coords.mean(0)) / coords.std(0), atol=1e-6)
    np.testing.assert_allclose(standardize_positions(np.ones((3, 3))), np.zeros((3, 3)))  # constant: zero, no NaN


# -- loaders on the full-layout fixtures -----------------------------------------------------------------------------
@pytest.mark.parametrize('cls,folder,prefix', [(GlobalTempDataset, 'global_temp', 'temp'),
                                               (GlobalWindDataset, 'global_wind', 'wind')])
def test_loader_windows_on_fixtures(cls, folder, prefix):
    root = osp.join(FIXTURES, folder)
    raw = np.load(osp.join(root, f'{prefix}_global_hourly_val.npy'))
    stamps = pd.DatetimeIndex(np.load(osp.join(root, 'data_time_val.npy')))
    ds = cls(data_root=root, split='val', num_stations=6, **WINDOW)
    assert len(ds) == len(raw) - 16 - 8 + 1 and ds.metainfo['num_stations'] == 6
    item = ds[5]
    np.testing.assert_array_equal(item['inputs']['x'], raw[5:21, :, 0])
    np.testing.assert_array_equal(item['data_samples']['target'], raw[21:29, :, 0])
    np.testing.assert_allclose(item['inputs']['y_mark'][:, 0], stamps[13:29].hour / 23 - 0.5, atol=1e-6)
    assert item['inputs']['x_mark'].shape == (16, 4) and item['inputs']['x'].dtype == np.float32
    strided = cls(data_root=root, split='val', window_stride=3, **WINDOW)
    assert len(strided) == (len(raw) - 24) // 3 + 1
    np.testing.assert_array_equal(strided[2]['inputs']['x'], raw[6:22, :, 0])
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_small_data_matches_its_source_layout():
    ds = GlobalTempDataset(data_root=SMALL_DATA, split='train', num_stations=3)
    test = GlobalTempDataset(data_root=SMALL_DATA, split='test', num_stations=3)
    wind = GlobalWindDataset(data_root=SMALL_DATA, split='train', num_stations=3)
    assert ds.metainfo['steps'] + test.metainfo['steps'] < 8760 and len(ds) == 6132 - 72 + 1
    # January to mid-September, degrees C: Greensboro NC, Sand Point AK, Miami FL; wind speed in m/s
    assert 12 < ds.values[:, 0].mean() < 20 and 0 < ds.values[:, 1].mean() < 10 and 22 < ds.values[:, 2].mean() < 28
    assert wind.values.min() >= 0 and 1 < wind.values.mean() < 10
    assert np.array_equal(wind.marks, ds.marks)


# -- the model: a training step and the deploy twin ------------------------------------------------------------------
def test_training_step_and_predict_mode():
    ds = GlobalTempDataset(data_root=osp.join(FIXTURES, 'global_temp'), split='train', num_stations=6, **WINDOW)
    model = tiny_model(stations=osp.join(FIXTURES, 'global_temp', 'stations_sorted.npy'))
    inputs, samples = batch_of(ds, [0, 7, 30])
    loss = model(inputs, samples, mode='loss')['loss']
    loss.backward()
    assert loss > 0 and all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    out = model(inputs, samples, mode='predict')
    assert len(out) == 3 and out[0]['pred'].shape == (8, 6) and torch.equal(out[1]['target'], samples['target'][1])
    with pytest.raises(ValueError, match="unknown mode 'logits'"):
        model(inputs, samples, mode='logits')


def test_forecast_is_in_the_data_units():
    """The window normalisation is undone: scaling and shifting the input does the same to the forecast."""
    model = tiny_model().double().eval()
    x = torch.randn(2, 16, 6, dtype=torch.float64)
    marks = dict(x_mark=torch.rand(2, 16, 4, dtype=torch.float64) - 0.5,
                 y_mark=torch.rand(2, 16, 4, dtype=torch.float64) - 0.5)
    with torch.no_grad():
        base = model(dict(x=x, **marks))
        moved = model(dict(x=10 * x + 250, **marks))
    torch.testing.assert_close(moved, 10 * base + 250, rtol=1e-6, atol=1e-6)


def _randomize_norms(model):
    generator = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for t, low, high in ((m.running_mean, -0.5, 0.5), (m.running_var, 0.5, 2.0), (m.weight, 0.5, 2.0),
                                 (m.bias, -0.5, 0.5)):
                t.data.copy_(torch.rand(t.shape, generator=generator, dtype=t.dtype) * (high - low) + low)


def test_deploy_twin_gives_the_same_forecast():
    """The re-parameterised backbone (in place, and the deploy=True structure loading its state dict strictly) gives
    the training form's forecast in float64, eval mode."""
    model = tiny_model().double()
    _randomize_norms(model)
    model.eval()
    inputs = dict(x=torch.randn(2, 16, 6, dtype=torch.float64) * 30 + 100,
                  x_mark=torch.rand(2, 16, 4, dtype=torch.float64) - 0.5,
                  y_mark=torch.rand(2, 16, 4, dtype=torch.float64) - 0.5)
    twin = tiny_model(deploy=True).double().eval()
    with torch.no_grad():
        before = model(inputs)
        switch_to_deploy(model)
        in_place = model(inputs)
        twin.load_state_dict(model.state_dict())
        after = twin(inputs)
    assert count_params(twin) < count_params(tiny_model())
    torch.testing.assert_close(in_place, before, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(after, before, rtol=1e-10, atol=1e-10)


# -- bad input -------------------------------------------------------------------------------------------------------
def copy_fixture(tmp_path, edit=None, split='train'):
    """The temperature fixture copied to ``tmp_path``; ``edit(values) -> values`` changes one split's array."""
    source = osp.join(FIXTURES, 'global_temp')
    for name in ('stations_sorted.npy', 'data_time_train.npy', 'temp_global_hourly_train.npy', 'data_time_val.npy',
                 'temp_global_hourly_val.npy'):
        np.save(tmp_path / name, np.load(osp.join(source, name)))
    if edit is not None:
        path = tmp_path / f'temp_global_hourly_{split}.npy'
        np.save(path, edit(np.load(path)))
    return str(tmp_path)


def with_nans(values):
    values = values.copy()
    values[3, 2, 0] = values[10:13, 4, 0] = np.nan
    return values


def test_missing_values_raise_by_default(tmp_path):
    root = copy_fixture(tmp_path, with_nans)
    with pytest.raises(ValueError, match=r"4 missing values \(NaN\), the first at step 3, station 2; .*"
                                         r"nan_policy='interpolate'"):
        GlobalTempDataset(data_root=root, split='train', **WINDOW)


def test_missing_values_interpolated_on_request(tmp_path):
    root = copy_fixture(tmp_path, with_nans)
    clean = np.load(osp.join(FIXTURES, 'global_temp', 'temp_global_hourly_train.npy'))[:, :, 0]
    ds = GlobalTempDataset(data_root=root, split='train', nan_policy='interpolate', **WINDOW)
    assert not np.isnan(ds.values).any()
    np.testing.assert_allclose(ds.values[3, 2], (clean[2, 2] + clean[4, 2]) / 2, rtol=1e-6)
    np.testing.assert_allclose(ds.values[10:13, 4], clean[9, 4] + (clean[13, 4] - clean[9, 4]) * np.arange(1, 4) / 4,
                               rtol=1e-6)
    untouched = np.ones_like(ds.values, dtype=bool)
    untouched[3, 2] = False
    untouched[10:13, 4] = False
    np.testing.assert_array_equal(ds.values[untouched], clean[untouched])
    edges = interpolate_missing(np.array([[np.nan], [1.0], [np.nan], [3.0], [np.nan]]))
    np.testing.assert_array_equal(edges[:, 0], [1, 1, 2, 3, 3])
    with pytest.raises(ValueError, match='station 1 has no valid value'):
        interpolate_missing(np.array([[1.0, np.nan], [2.0, np.nan]]))
    with pytest.raises(ValueError, match=r"nan_policy must be one of \('raise', 'interpolate'\), got 'zero'"):
        GlobalTempDataset(data_root=root, split='train', nan_policy='zero', **WINDOW)


def test_station_count_mismatch_names_the_values(tmp_path):
    with pytest.raises(ValueError, match=r'has 6 stations; the model is configured for num_stations=3850'):
        GlobalTempDataset(data_root=osp.join(FIXTURES, 'global_temp'), split='val', num_stations=3850, **WINDOW)
    with pytest.raises(ValueError, match=r'6 stations cannot be split into prod\(node_list \(4,\)\) = 4 equal nodes; '
                                         r'valid node counts \(divisors of 6\): \[1, 2, 3, 6\]'):
        tiny_model(num_stations=6, node_list=(4,))
    model = tiny_model()
    with pytest.raises(ValueError, match=r'x has shape \(1, 16, 5\); expected \(B, 16, 6\)'):
        model(dict(x=torch.zeros(1, 16, 5), x_mark=torch.zeros(1, 16, 4), y_mark=torch.zeros(1, 16, 4)))
    with pytest.raises(ValueError, match=r'holds coordinates of shape \(6, 3\); the model is configured for \(12, 3\)'):
        tiny_model(num_stations=12, stations=osp.join(FIXTURES, 'global_temp', 'stations_sorted.npy'))
    root = copy_fixture(tmp_path, lambda v: v[:, :, 0], split='val')
    with pytest.raises(ValueError, match=r'expected a \(time, stations, 1\) array, got shape \(40, 6\)'):
        GlobalTempDataset(data_root=root, split='val', **WINDOW)


def test_too_short_series_and_bad_windows(tmp_path):
    root = copy_fixture(tmp_path, lambda v: v[:23], split='val')
    np.save(tmp_path / 'data_time_val.npy', np.load(tmp_path / 'data_time_val.npy')[:23])
    with pytest.raises(ValueError, match=r'has 23 steps; one window needs seq_len \+ pred_len = 16 \+ 8 = 24'):
        GlobalTempDataset(data_root=root, split='val', **WINDOW)
    GlobalTempDataset(data_root=root, split='val', seq_len=15, label_len=8, pred_len=8)  # exactly one window fits
    with pytest.raises(ValueError, match='label_len <= seq_len'):
        GlobalTempDataset(data_root=root, split='val', seq_len=8, label_len=9, pred_len=8)
    with pytest.raises(ValueError, match="split must be one of"):
        GlobalTempDataset(data_root=root, split='training', **WINDOW)
    np.save(tmp_path / 'data_time_val.npy', np.load(tmp_path / 'data_time_val.npy')[:20])
    with pytest.raises(ValueError, match='20 time stamps for 23 steps'):
        GlobalTempDataset(data_root=root, split='val', **WINDOW)


def test_pickled_time_stamps_need_explicit_trust(tmp_path):
    root = copy_fixture(tmp_path)
    stamps = np.load(tmp_path / 'data_time_train.npy').astype(object)
    np.save(tmp_path / 'data_time_train.npy', stamps, allow_pickle=True)
    with pytest.raises(ValueError, match='pickled object array .* allow_pickle=True only for a file you trust'):
        GlobalTempDataset(data_root=root, split='train', **WINDOW)
    assert len(GlobalTempDataset(data_root=root, split='train', allow_pickle=True, **WINDOW)) == 72 - 24 + 1
    with pytest.raises(FileNotFoundError, match='temp_global_hourly_test.npy does not exist'):
        GlobalTempDataset(data_root=root, split='test', **WINDOW)


# -- the configs through the Runner and the tools --------------------------------------------------------------------
def test_every_time_series_config_builds():
    """The recipes, the Table 11 ablations and the small configs build (on the meta device; mmpretrain's ResNet-101
    and ConvNeXt-S, which cannot, on the CPU), and each encoder's last map fits the decoder's memory reshape."""
    paths = sorted(glob_configs())
    assert len(paths) == 8
    for path in paths:
        cfg = Config.fromfile(path)
        cfg.model.embedder.stations = None
        on_meta = cfg.model.backbone.type.startswith('largekernel.')
        with torch.device('meta' if on_meta else 'cpu'), torch.no_grad():
            backbone = MODELS.build(cfg.model.backbone)
            memory = backbone(torch.zeros(1, 1, *cfg.model.map_size))[-1]
            if on_meta:
                MODELS.build(cfg.model)
        assert memory[0].numel() % cfg.model.embed_dims == 0, path


def glob_configs():
    return glob.glob(osp.join(CONFIGS, '*.py')) + glob.glob(osp.join(CONFIGS, 'ablations', '*.py'))


def small_config(tmp_path, **options):
    cfg = Config.fromfile(SMALL)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.merge_from_dict(options)
    return cfg


def test_runner_smoke_two_iterations(tmp_path):
    from mmengine.runner import Runner
    cfg = small_config(tmp_path, **{
        'train_dataloader.dataset.window_stride': 1000, 'train_dataloader.batch_size': 3,
        'val_dataloader.dataset.split': 'val', 'train_cfg.max_epochs': 1, 'default_hooks.logger.interval': 1,
        'param_scheduler': [], 'default_hooks.checkpoint.save_best': None})
    cfg.val_dataloader.dataset.window_stride = 200
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    metrics = runner.val_loop.run()
    assert set(metrics) == {'forecast/mse', 'forecast/mae'} and 0 < metrics['forecast/mae'] < 20


def naive_errors(split):
    """MSE of the persistence (the last input value for every hour) and the seasonal-naive (the last 24 input hours
    repeated) forecasts."""
    ds = GlobalTempDataset(data_root=SMALL_DATA, split=split, num_stations=3)
    errors = {'persistence': [], 'seasonal': []}
    for i in range(len(ds)):
        x, span = ds.window(i)
        target = span[-ds.pred_len:]
        errors['persistence'].append(np.repeat(x[-1:], ds.pred_len, 0) - target)
        errors['seasonal'].append(x[-24:][:ds.pred_len] - target)
    return {k: float(np.mean(np.square(v))) for k, v in errors.items()}


@pytest.mark.slow
def test_small_data_training_beats_persistence_and_seasonal_naive(tmp_path):
    """tools/train.py then tools/test.py on data/tmy_hourly_weather (5-10 minutes on 2 CPU cores): the test MSE
    is below both the persistence and the 24 h seasonal-naive forecasts' (computed here from the data)."""
    work = tmp_path / 'work'
    env = {**os.environ, 'PYTHONPATH': ROOT, 'OMP_NUM_THREADS': '1'}
    train = subprocess.run([sys.executable, 'tools/train.py', SMALL, '--work-dir', str(work)], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert train.returncode == 0, train.stderr[-3000:]
    (best,) = [p for p in work.iterdir() if p.name.startswith('best_forecast_mse')]
    test = subprocess.run([sys.executable, 'tools/test.py', SMALL, str(best), '--work-dir', str(work)], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    assert test.returncode == 0, test.stderr[-3000:]
    mse = float(re.findall(r'forecast/mse: ([0-9.]+)', test.stdout + test.stderr)[-1])
    baselines = naive_errors('test')
    assert mse < min(baselines.values()), (mse, baselines)
