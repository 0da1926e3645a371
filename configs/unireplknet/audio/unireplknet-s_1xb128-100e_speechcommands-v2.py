# UniRepLKNet journal Table 8, UniRepLKNet-S on Speech Commands V2 (SPC-2, 35 words): 98.5 % test accuracy, 55.5M
# params, no pretraining; the same row is Table 11's "UniRepLKNet-S (K=13)" audio entry. Recipe of the official
# Audio/egs/speechcommands/run_sc.sh (AST's Speech Commands recipe), single GPU, batch 128.
#
# Input (UniRepLKNet §3.3 "Audio"): 16 kHz clip -> Kaldi log-Mel fbank, 128 bins, 25 ms / 10 ms, Hanning, no dither
# -> zero pad / cut to 128 frames -> SpecAugment (freq 48, time 48) -> (x + 6.846) / (2 x 5.565) -> noise + time roll
# -> a 1 x 128 (F) x 128 (T) map, read by UniRepLKNet-S with in_channels=1.
# Paper vs official code, and our choices:
# - Pretraining: run_sc.sh sets imagenetpretrain=True, but its model never loads ImageNet weights for UniRepLKNet;
#   trained from scratch, as the paper says ("even without pretraining").
# - Head: the official model puts LayerNorm + Linear (AST's mlp_head) after the backbone; its backbone is built with
#   the default 1000-way classifier, which cannot feed that head as published. We use the backbone's pooled and
#   normalised features (its final LayerNorm, as UniRepLKNet's classifier) followed by LayerNorm + Linear.
# - Mixup 0.6: AST mixes waveforms inside the dataset (a uniformly drawn second clip, lambda ~ Beta(10, 10), soft
#   targets lambda / 1 - lambda); reproduced by the dataset's mix_prob, not by mmpretrain's batch Mixup.
# - Loss: BCE with logits on the (soft) one-hot targets. mmpretrain sums the BCE over classes and averages over the
#   batch; loss_weight 1 / 35 gives torch's BCEWithLogitsLoss mean over all elements, as the official code.
# - Optimiser: Adam, lr 2.5e-4, weight decay 5e-7, betas (0.95, 0.999), no warmup; lr x 0.85 after every epoch from
#   epoch 5 (MultiStepLR); 100 epochs; the best validation checkpoint is evaluated on the test list.
# - Precision: the official forward runs under autocast without a grad scaler; we train in fp32 (use
#   `--amp` with tools/train.py for mixed precision).
_base_ = ['../../_base_/default_runtime.py']

num_classes = 35
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=num_classes, to_onehot=True),
    backbone=dict(type='largekernel.UniRepLKNet', arch='S', in_channels=1, drop_path_rate=0.4, out_indices=(3,),
                  gap_before_final_norm=True),
    neck=None,
    head=dict(type='largekernel.NormLinearClsHead', num_classes=num_classes, in_channels=768,
              loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0 / num_classes)),
)

stats = dict(mean=-6.845978, std=5.5654526)  # AST's Speech Commands V2 fbank statistics
num_frames = 128
train_pipeline = [
    dict(type='largekernel.LoadAudio', sample_rate=16000),
    dict(type='largekernel.KaldiFbank', num_mel_bins=128),
    dict(type='largekernel.PadCropFrames', num_frames=num_frames),
    dict(type='largekernel.SpecAugment', freq_mask=48, time_mask=48),
    dict(type='largekernel.NormalizeSpectrogram', **stats),
    dict(type='largekernel.NoiseAndRoll', max_shift=10),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='largekernel.LoadAudio', sample_rate=16000),
    dict(type='largekernel.KaldiFbank', num_mel_bins=128),
    dict(type='largekernel.PadCropFrames', num_frames=num_frames),
    dict(type='largekernel.NormalizeSpectrogram', **stats),
    dict(type='PackInputs'),
]
data_root = 'data/speech_commands_v0.02'
train_dataloader = dict(
    batch_size=128, num_workers=8, persistent_workers=True,
    dataset=dict(type='largekernel.SpeechCommandsV2', data_root=data_root, split='train', mix_prob=0.6,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=256, num_workers=8, persistent_workers=True,
    dataset=dict(type='largekernel.SpeechCommandsV2', data_root=data_root, split='val', test_mode=True,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator

max_epochs = 100
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2.5e-4, weight_decay=5e-7, betas=(0.95, 0.999)))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=list(range(5, max_epochs)), gamma=0.85)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='accuracy/top1'))
