"""Build the small real forecasting data set ``data/tmy_hourly_weather`` and the loader fixtures
``tests/data/time_series`` in the Global Temperature / Wind layout (largekernel/datasets/time_series.py).

Source: the three typical-meteorological-year files shipped in the ``pvlib`` package, version 0.16.1 (PyPI wheel
``pvlib-0.16.1-py3-none-any.whl``, SHA-256 4e61b5228a13f782413d7cf8cc48eb6e62e7bf55d155958fa9fd72420b63603d;
package licence BSD-3-Clause, its LICENSE); the files are NREL products (National Solar Radiation Database), in
the TMY3 (``pvlib/data/723170TYA.CSV`` Greensboro NC, ``pvlib/data/703165TY.csv`` Sand Point AK) and TMY2
(``pvlib/data/12839.tm2`` Miami FL) formats of the NREL user's manuals (NREL/TP-581-43156, 2008; NREL 1995). The
wheel states no other licence for them. A typical year is 12 measured months, each taken from a different year
(so the series jump where months join); values are hourly, local standard time.

Processing (deterministic, standard library + numpy):
  1. TMY3 (a CSV with one site line and one column-name line): columns ``Dry-bulb (C)`` and ``Wspd (m/s)``;
     TMY2 (fixed width; one site line, then 8760 lines): characters 67-70 dry-bulb temperature in tenths of a
     degree C, 95-97 wind speed in tenths of m/s (0-based, end exclusive), divided by 10;
  2. rows in file order (hour 1 of 1 January to hour 24 of 31 December, local standard time, 8760 each); the
     three stations side by side in the order Greensboro, Sand Point, Miami (row i = hour i + 1 of each station's
     local typical year); float32, no value changed, none missing;
  3. split chronologically: the first 70 % of the hours train, the next 10 % val, the last 20 % test;
  4. write ``{temp,wind}_global_hourly_{split}.npy`` (T, 3, 1), ``data_time_{split}.npy`` (T,) ISO time strings of
     the hour in a nominal non-leap year (2001; the files' own years differ by month and station), and
     ``stations_sorted.npy`` (3, 3): latitude, longitude (east positive), elevation in m from the site lines.

The fixtures are six synthetic stations (diurnal cycle + noise, seed 0) in the same layout, a few KB, for the
loader tests: ``global_temp`` (time stamps as strings) and ``global_wind`` (as datetime64).

    pip download --no-deps pvlib==0.16.1 -d /tmp
    python tools/dataset_converters/make_tmy_weather.py --wheel /tmp/pvlib-0.16.1-py3-none-any.whl
"""
import argparse
import csv
import hashlib
import io
import os
import os.path as osp
import zipfile

import numpy as np
import pandas as pd

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WHEEL_SHA256 = '4e61b5228a13f782413d7cf8cc48eb6e62e7bf55d155958fa9fd72420b63603d'
FILES = (  # member of the wheel, SHA-256 of the member
    ('pvlib/data/723170TYA.CSV', '1e96f84638ce98e6b29002bc45a27aa69bb29b0ed0368d3b52b7b1f81610c6c9'),
    ('pvlib/data/703165TY.csv', 'f0333a68a116f5ae92f1285a2ab8784d8e00e52a367445658ac88d72d93d8ca4'),
    ('pvlib/data/12839.tm2', '57f0de21ed1685a4a8623badc1be6535f88f82e1257b69554643e1370ca9e08d'),
)
HOURS = 8760
NOMINAL_YEAR = 2001
SPLIT_FRACTIONS = (('train', 0.7), ('val', 0.1), ('test', 0.2))
TMY2_DRY_BULB, TMY2_WIND_SPEED = slice(67, 71), slice(95, 98)


def read_wheel(path):
    with open(path, 'rb') as f:
        content = f.read()
    digest = hashlib.sha256(content).hexdigest()
    if digest != WHEEL_SHA256:
        raise ValueError(f'{path}: SHA-256 {digest} is not that of pvlib 0.16.1 ({WHEEL_SHA256})')
    return zipfile.ZipFile(io.BytesIO(content))


def parse_tmy3(text):
    """(site, temperature C, wind m/s) of a TMY3 CSV: a site line, a column-name line, one row per hour."""
    rows = list(csv.reader(io.StringIO(text)))
    usaf, name, state, _, lat, lon, elevation = rows[0]
    header, data = rows[1], rows[2:]
    temp, wind = header.index('Dry-bulb (C)'), header.index('Wspd (m/s)')
    site = dict(id=usaf, name=f'{name} {state}', lat=float(lat), lon=float(lon), elevation=float(elevation))
    return site, [float(r[temp]) for r in data], [float(r[wind]) for r in data]


def parse_tmy2(text):
    """(site, temperature C, wind m/s) of a TMY2 file: a site line (WBAN, city, state, time zone, latitude and
    longitude as hemisphere, degrees, minutes, elevation m), then fixed-width hourly lines."""
    lines = text.splitlines()
    wban, name, state, _, ns, lat_d, lat_m, ew, lon_d, lon_m, elevation = lines[0].split()
    lat = (int(lat_d) + int(lat_m) / 60) * (1 if ns == 'N' else -1)
    lon = (int(lon_d) + int(lon_m) / 60) * (1 if ew == 'E' else -1)
    site = dict(id=wban, name=f'{name} {state}', lat=lat, lon=lon, elevation=float(elevation))
    data = lines[1:]
    return (site, [int(line[TMY2_DRY_BULB]) / 10 for line in data], [int(line[TMY2_WIND_SPEED]) / 10 for line in data])


def read_stations(wheel):
    sites, temp, wind = [], [], []
    for member, sha256 in FILES:
        content = wheel.read(member)
        digest = hashlib.sha256(content).hexdigest()
        if digest != sha256:
            raise ValueError(f'{member}: SHA-256 {digest}, expected {sha256}')
        parse = parse_tmy2 if member.endswith('.tm2') else parse_tmy3
        site, t, w = parse(content.decode('ascii'))
        if len(t) != HOURS:
            raise ValueError(f'{member}: {len(t)} hourly rows, a typical year has {HOURS}')
        print(f'{member}: {site}, temperature {min(t)} .. {max(t)} C, wind {min(w)} .. {max(w)} m/s')
        sites.append(site)
        temp.append(t)
        wind.append(w)
    return sites, np.asarray(temp, np.float32).T, np.asarray(wind, np.float32).T


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
    sites, temp, wind = read_stations(read_wheel(wheel_path))
    # the files' hour 1 is the hour ending 01:00 of 1 January; hour 24 of 31 December is 00:00 of the next year
    grid = pd.date_range(f'{NOMINAL_YEAR}-01-01 01:00', periods=HOURS, freq='h')
    stamps = np.asarray(grid.strftime('%Y-%m-%d %H:%M:%S'), dtype='U19')
    positions = [(s['lat'], s['lon'], s['elevation']) for s in sites]
    bounds = split_bounds(HOURS)
    write_layout(out, 'temp', temp, stamps, positions, bounds)
    write_layout(out, 'wind', wind, stamps, positions, bounds)
    print(f'{out}: {temp.shape} (hours x stations), splits {bounds}')


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
    parser.add_argument('--wheel', required=True, help='pvlib-0.16.1-py3-none-any.whl')
    parser.add_argument('--out', default=osp.join(ROOT, 'data', 'tmy_hourly_weather'))
    parser.add_argument('--fixtures', default=osp.join(ROOT, 'tests', 'data', 'time_series'))
    args = parser.parse_args()
    make_small_data(args.wheel, args.out)
    make_fixtures(args.fixtures)


if __name__ == '__main__':
    main()
