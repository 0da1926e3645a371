"""Build the small real forecasting data set ``data/vega_hourly_temps_2010`` and the loader fixtures
``tests/data/time_series`` in the Global Temperature / Wind layout (largekernel/datasets/time_series.py).

Source: the ``vega_datasets`` package, version 0.9.0 (PyPI wheel ``vega_datasets-0.9.0-py3-none-any.whl``, SHA-256
3d7c63917be6ca9b154b565f4779a31fedce57b01b5b9d99d8a34a7608062a1d; package licence MIT). Its ``dataset_info.json``
describes ``seattle-temps.csv`` and ``sf-temps.csv`` as "hourly temperatures in Seattle / San Francisco during the
full year of 2010 ... drawn from public-domain NOAA data" (US government work, public domain).

Processing (deterministic):
  1. read both CSVs (degrees Fahrenheit), index them by their time stamps, put them on the full hourly grid of 2010
     (8760 steps); both files lack 2010-03-14 03:00 (the daylight-saving gap): that one hour is filled by linear
     interpolation in time, nothing else is changed;
  2. convert to degrees Celsius, (F - 32) * 5 / 9, float32; stations in the order Seattle, San Francisco;
  3. split chronologically: the first 70 % of the hours train, the next 10 % val, the last 20 % test;
  4. write ``temp_global_hourly_{split}.npy`` (T, 2, 1), ``data_time_{split}.npy`` (T,) ISO time strings and
     ``stations_sorted.npy`` (2, 3): approximate city coordinates (latitude, longitude, elevation in m), the source
     names only the cities.

The fixtures are six synthetic stations (diurnal cycle + noise, seed 0) in the same layout, a few KB, for the
loader tests: ``global_temp`` (time stamps as strings) and ``global_wind`` (as datetime64).

    python tools/dataset_converters/make_vega_temps.py --wheel /tmp/vega_datasets-0.9.0-py3-none-any.whl
    (the wheel: pip download --no-deps vega_datasets==0.9.0 -d /tmp)
"""
import argparse
import hashlib
import io
import os
import os.path as osp
import zipfile

import numpy as np
import pandas as pd

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WHEEL_SHA256 = '3d7c63917be6ca9b154b565f4779a31fedce57b01b5b9d99d8a34a7608062a1d'
STATIONS = (  # file, latitude, longitude, elevation (m)
    ('seattle-temps.csv', 47.61, -122.33, 53.0),
    ('sf-temps.csv', 37.77, -122.42, 16.0),
)
SPLIT_FRACTIONS = (('train', 0.7), ('val', 0.1), ('test', 0.2))


def read_wheel(path):
    with open(path, 'rb') as f:
        content = f.read()
    digest = hashlib.sha256(content).hexdigest()
    if digest != WHEEL_SHA256:
        raise ValueError(f'{path}: SHA-256 {digest} is not that of vega_datasets 0.9.0 ({WHEEL_SHA256})')
    return zipfile.ZipFile(io.BytesIO(content))


def hourly_celsius(wheel, name):
    frame = pd.read_csv(wheel.open(f'vega_datasets/_data/{name}'))
    series = pd.Series(frame['temp'].to_numpy(), index=pd.to_datetime(frame['date']))
    grid = pd.date_range('2010-01-01 00:00', '2010-12-31 23:00', freq='h')
    series = series.reindex(grid)
    print(f'{name}: {int(series.isna().sum())} missing hours filled: {list(series.index[series.isna()])}')
    return ((series.interpolate(method='linear').to_numpy() - 32.0) * 5.0 / 9.0).astype(np.float32), grid


def split_bounds(steps):
    bounds, start = {}, 0
    for i, (split, fraction) in enumerate(SPLIT_FRACTIONS):
        end = steps if i == len(SPLIT_FRACTIONS) - 1 else start + int(round(steps * fraction))
        bounds[split] = (start, end)
        start = end
    return bounds


def write_layout(folder, variable, values, stamps, positions, bounds):
    os.makedirs(folder, exist_ok=True)
    for split, (start, end) in bounds.items():
        np.save(osp.join(folder, f'{variable}_global_hourly_{split}.npy'), values[start:end, :, None])
        np.save(osp.join(folder, f'data_time_{split}.npy'), stamps[start:end])
    np.save(osp.join(folder, 'stations_sorted.npy'), np.asarray(positions, dtype=np.float64))


def make_small_data(wheel_path, out):
    wheel = read_wheel(wheel_path)
    columns = []
    for name, *_ in STATIONS:
        values, grid = hourly_celsius(wheel, name)
        columns.append(values)
    values = np.stack(columns, axis=1)
    stamps = np.asarray(grid.strftime('%Y-%m-%d %H:%M:%S'), dtype='U19')
    bounds = split_bounds(len(values))
    write_layout(out, 'temp', values, stamps, [s[1:] for s in STATIONS], bounds)
    print(f'{out}: {values.shape} (hours x stations), splits {bounds}')


def make_fixtures(out):
    rng = np.random.default_rng(0)
    steps, stations = 152, 6
    bounds = {'train': (0, 72), 'val': (72, 112), 'test': (112, 152)}
    hours = np.arange(steps)[:, None]
    phase = rng.uniform(0, 2 * np.pi, stations)
    positions = np.stack([rng.uniform(-60, 70, stations), rng.uniform(-180, 180, stations),
                          rng.uniform(0, 2000, stations)], axis=1)
    grid = pd.date_range('2019-01-01 00:00', periods=steps, freq='h')
    temp = 100 + 50 * np.sin(2 * np.pi * hours / 24 + phase) + rng.normal(0, 5, (steps, stations))
    wind = np.abs(30 + 10 * np.sin(2 * np.pi * hours / 24 + phase) + rng.normal(0, 8, (steps, stations)))
    write_layout(osp.join(out, 'global_temp'), 'temp', temp.astype(np.float32),
                 np.asarray(grid.strftime('%Y-%m-%d %H:%M:%S'), dtype='U19'), positions, bounds)
    write_layout(osp.join(out, 'global_wind'), 'wind', wind.astype(np.float32), grid.to_numpy(), positions, bounds)
    print(f'{out}: fixtures of {stations} stations, splits {bounds}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--wheel', required=True, help='vega_datasets-0.9.0-py3-none-any.whl')
    parser.add_argument('--out', default=osp.join(ROOT, 'data', 'vega_hourly_temps_2010'))
    parser.add_argument('--fixtures', default=osp.join(ROOT, 'tests', 'data', 'time_series'))
    args = parser.parse_args()
    make_small_data(args.wheel, args.out)
    make_fixtures(args.fixtures)


if __name__ == '__main__':
    main()
