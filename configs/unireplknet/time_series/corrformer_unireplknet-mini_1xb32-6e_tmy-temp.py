# Small-data forecasting on 2 CPU cores: the Global Temperature pipeline (same dataset class, windows of 48 h input /
# 24 h look-back / 24 h horizon, Corrformer embedding + decoder around an unchanged UniRepLKNet) scaled down to the
# committed data/tmy_hourly_weather (hourly observed temperature of Greensboro NC, Sand Point AK and Miami FL over
# a typical meteorological year, degrees Celsius; see its README). Metrics in degrees Celsius; the baselines to
# beat (persistence and the seasonal-naive 24 h repetition) are in configs/unireplknet/time_series/README.md.
# Scaled down: 3 stations = 3 nodes of 1 station, D' = 32 (a 48 x 32 map), a 4-stage UniRepLKNet of
# 1-1-2-1 blocks (kernels sized to its 12 x 8 / 6 x 4 / 3 x 2 / 2 x 1 maps), 4 heads, AdamW + cosine, 6 epochs
# (about 5 minutes on 2 CPU cores).
_base_ = ['../../_base_/datasets/time_series_global-temp.py', '../../_base_/schedules/time_series_adam_10e.py']

data_root = 'data/tmy_hourly_weather'
dataset = dict(type='largekernel.GlobalTempDataset', data_root=data_root, num_stations=3, allow_pickle=False)
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=32, **loader, dataset=dataset)
val_dataloader = dict(batch_size=128, drop_last=False, **loader, dataset=dataset)
test_dataloader = val_dataloader

model = dict(
    type='largekernel.CorrformerForecaster',
    num_stations=3,
    node_list=(3,),
    seq_len=48, label_len=24, pred_len=24,
    embed_dims=32,
    map_size=(48, 32),
    moving_avg=25,
    embedder=dict(type='largekernel.CorrformerEmbedding', stations=f'{data_root}/stations_sorted.npy',
                  time_features=4, dropout=0.0),
    backbone=dict(
        type='largekernel.UniRepLKNet',
        arch=dict(depths=(1, 1, 2, 1), dims=(16, 32, 48, 64), kernel_sizes=((7,), (5,), (3, 3), (3,))),
        in_channels=1,
        out_indices=(3,),
    ),
    decoder=dict(type='largekernel.CorrformerDecoder', num_heads=4, num_layers=1, ffn_dims=64, tcn_layers=1,
                 dropout=0.0, activation='gelu'),
)

max_epochs = 6
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5, by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=20))
custom_hooks = []
randomness = dict(seed=0)
