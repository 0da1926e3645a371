# Small-data forecasting of hourly wind speed (m/s) on data/tmy_hourly_weather: the temperature small config with
# the Global Wind dataset class on the same three stations and windows (48 h input -> 24 h); metrics in m/s, the
# baselines (persistence, the 24 h seasonal-naive repetition) in configs/unireplknet/time_series/README.md.
_base_ = ['./corrformer_unireplknet-mini_1xb32-6e_tmy-temp.py']

wind = dict(type='largekernel.GlobalWindDataset')
train_dataloader = dict(dataset=wind)
val_dataloader = dict(dataset=wind)
test_dataloader = dict(dataset=wind)
