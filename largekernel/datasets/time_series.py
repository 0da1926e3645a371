"""Sliding-window datasets of the Global Temperature / Global Wind forecasting benchmark (UniRepLKNet §4.2, after
Corrformer; NCEI hourly data of 3,850 stations, 2019-2021), and of any data set stored in the same layout.

Layout of ``data_root`` (the benchmark's release, read like the official loader):

    temp_global_hourly_{train,val,test}.npy   (T, stations, 1) float, Global Temperature
    wind_global_hourly_{train,val,test}.npy   (T, stations, 1) float, Global Wind
    data_time_{train,val,test}.npy            (T,) time stamps (strings or datetime64)
    stations_sorted.npy                       (stations, 3) station coordinates (read by the model)

Window ``i`` of a split: ``x`` = steps ``i .. i+seq_len-1``, the decoder's span ``i+seq_len-label_len ..
i+seq_len+pred_len-1`` (its time features ``y_mark``), the target = its last ``pred_len`` steps. As in the official
loader the values are not rescaled (the model normalises each window and de-normalises its forecast), so losses and
metrics are in the data's units.
"""
import os.path as osp

import numpy as np
import pandas as pd
from torch.utils.data import Dataset

from ..registry import DATASETS

SPLITS = ('train', 'val', 'test')
NAN_POLICIES = ('raise', 'interpolate')


def time_features(stamps, freq='h'):
    """Calendar features in [-0.5, 0.5], one row per step (the official ``timeF`` encoding): hourly data: hour of
    day, day of week, day of month, day of year; daily data: the last three."""
    index = pd.DatetimeIndex(stamps)
    daily = [index.day_of_week / 6.0 - 0.5, (index.day - 1) / 30.0 - 0.5, (index.day_of_year - 1) / 365.0 - 0.5]
    if freq == 'h':
        return np.stack([index.hour / 23.0 - 0.5] + daily, axis=1).astype(np.float32)
    if freq == 'd':
        return np.stack(daily, axis=1).astype(np.float32)
    raise ValueError(f'time_features: unsupported freq {freq!r}; valid: h (hourly, 4 features), d (daily, 3)')


def interpolate_missing(values):
    """Fill NaNs of each ``(T, stations)`` column linearly in time (the nearest value before the first / after the
    last valid step); a station without any valid value raises."""
    values = values.copy()
    steps = np.arange(values.shape[0])
    for station in range(values.shape[1]):
        column = values[:, station]
        valid = ~np.isnan(column)
        if not valid.any():
            raise ValueError(f'station {station} has no valid value at all; interpolation cannot repair it')
        column[~valid] = np.interp(steps[~valid], steps[valid], column[valid])
    return values


@DATASETS.register_module()
class WeatherForecastDataset(Dataset):
    """Forecasting windows of one split of a ``(T, stations, 1)`` array (see the module docstring).

    Args:
        data_root (str): the folder of the layout above.
        variable (str): the array's file prefix, ``'temp'`` (``temp_global_hourly_``) or ``'wind'``.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        seq_len, label_len, pred_len (int): input length, the decoder's look-back, the horizon.
        num_stations (int | None): the stations the model is configured for; a different count in the file raises.
        freq (str): ``'h'`` or ``'d'`` (the time features).
        nan_policy (str): ``'raise'`` (default: missing values are an error naming their count and first position)
            or ``'interpolate'`` (linear in time per station, see ``interpolate_missing``).
        window_stride (int): every ``window_stride``-th window (1 = all, as the official loader).
        allow_pickle (bool): the official release stores its time stamps as a pickled object array; unpickling runs
            code from the file, so it is refused unless set for files you trust.
    """

    def __init__(self, *, data_root, variable, split, seq_len=48, label_len=24, pred_len=24, num_stations=None,
                 freq='h', nan_policy='raise', window_stride=1, allow_pickle=False):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if nan_policy not in NAN_POLICIES:
            raise ValueError(f'nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}')
        if label_len > seq_len or min(seq_len, pred_len, window_stride) < 1 or label_len < 0:
            raise ValueError(f'need 0 <= label_len <= seq_len and seq_len, pred_len, window_stride >= 1; got seq_len '
                             f'{seq_len}, label_len {label_len}, pred_len {pred_len}, window_stride {window_stride}')
        self.seq_len, self.label_len, self.pred_len = seq_len, label_len, pred_len
        self.window_stride = window_stride
        path = osp.join(data_root, f'{variable}_global_hourly_{split}.npy')
        raw = self._load(path, allow_pickle)
        if raw.ndim != 3 or raw.shape[2] != 1:
            raise ValueError(f'{path}: expected a (time, stations, 1) array, got shape {raw.shape}')
        values = raw[:, :, 0].astype(np.float32)
        if num_stations is not None and values.shape[1] != num_stations:
            raise ValueError(f'{path} has {values.shape[1]} stations; the model is configured for num_stations='
                             f'{num_stations} (set num_stations and node_list to fit the data)')
        missing = np.isnan(values)
        if missing.any():
            if nan_policy == 'raise':
                step, station = np.argwhere(missing)[0]
                raise ValueError(f'{path} has {int(missing.sum())} missing values (NaN), the first at step {step}, '
                                 f'station {station}; repair the data or pass nan_policy=\'interpolate\'')
            values = interpolate_missing(values)
        stamps = self._load(osp.join(data_root, f'data_time_{split}.npy'), allow_pickle)
        if len(stamps) != len(values):
            raise ValueError(f'{data_root}: {len(stamps)} time stamps for {len(values)} steps in split {split}')
        needed = seq_len + pred_len
        if len(values) < needed:
            raise ValueError(f'{path} has {len(values)} steps; one window needs seq_len + pred_len = {seq_len} + '
                             f'{pred_len} = {needed}')
        self.values, self.marks = values, time_features(stamps, freq)
        self.metainfo = dict(variable=variable, split=split, num_stations=values.shape[1], steps=len(values))

    @staticmethod
    def _load(path, allow_pickle):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} does not exist (see the data layout in largekernel/datasets/'
                                    'time_series.py)')
        try:
            return np.load(path, allow_pickle=allow_pickle)
        except ValueError as e:
            raise ValueError(f'{path} is a pickled object array ({e}); pass allow_pickle=True only for a file you '
                             'trust') from None

    def __len__(self):
        return (len(self.values) - self.seq_len - self.pred_len) // self.window_stride + 1

    def window(self, index):
        """(x, decoder span) of window ``index``: ``(seq_len, D)`` and ``(label_len + pred_len, D)`` values."""
        start = index * self.window_stride
        end = start + self.seq_len
        return self.values[start:end], self.values[end - self.label_len:end + self.pred_len]

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f'window {index} out of range for {len(self)} windows')
        x, span = self.window(index)
        end = index * self.window_stride + self.seq_len
        return dict(inputs=dict(x=x, x_mark=self.marks[end - self.seq_len:end],
                                y_mark=self.marks[end - self.label_len:end + self.pred_len]),
                    data_samples=dict(target=span[-self.pred_len:]))


@DATASETS.register_module()
class GlobalTempDataset(WeatherForecastDataset):
    """Global Temperature (``temp_global_hourly_*.npy``)."""

    def __init__(self, **kwargs):
        super().__init__(variable='temp', **kwargs)


@DATASETS.register_module()
class GlobalWindDataset(WeatherForecastDataset):
    """Global Wind (``wind_global_hourly_*.npy``)."""

    def __init__(self, **kwargs):
        super().__init__(variable='wind', **kwargs)
