# Global Temperature (UniRepLKNet §4.2, after Corrformer): NCEI hourly temperature of 3,850 stations, 2019-2021, in
# the release's train / val / test splits (layout: largekernel/datasets/time_series.py); windows of 48 h input,
# 24 h decoder look-back, 24 h horizon (the official script's seq_len / label_len / pred_len); batch 1.
dataset_type = 'largekernel.GlobalTempDataset'
data_root = 'data/global_temp'
num_stations = 3850
# The release's time stamps are a pickled object array (the official loader reads them with allow_pickle=True);
# unpickling runs code from the file: keep it for the trusted release only.
dataset = dict(type=dataset_type, data_root=data_root, num_stations=num_stations, seq_len=48, label_len=24,
               pred_len=24, allow_pickle=True)
train_dataloader = dict(
    batch_size=1, num_workers=10, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True), collate_fn=dict(type='default_collate'),
    dataset=dict(**dataset, split='train'))
val_dataloader = dict(
    batch_size=1, num_workers=10, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=False), collate_fn=dict(type='default_collate'),
    dataset=dict(**dataset, split='val'))
test_dataloader = dict(
    batch_size=1, num_workers=10, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=False), collate_fn=dict(type='default_collate'),
    dataset=dict(**dataset, split='test'))
val_evaluator = dict(type='largekernel.ForecastMetric')
test_evaluator = val_evaluator
