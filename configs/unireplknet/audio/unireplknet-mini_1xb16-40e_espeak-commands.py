# Small-data run: a small UniRepLKNet trained from scratch on the committed data/espeak_commands (8 Speech Commands
# words synthesised by espeak-ng; 80 training clips from 10 voices, validation and test on 2 and 3 unseen voices; chance
# 12.5 %) on 2 CPU cores in about two minutes, with the Speech Commands V2 pipeline of the full recipe (fbank, 128
# frames, SpecAugment, AST normalisation, noise + roll, waveform mixup, BCE, Adam). Measured numbers:
# configs/unireplknet/audio/README.md.
# Smaller than the recipe, for 80 clips and 200 steps: the network (depths 1-1-2-1, widths 16-128; 13 x 13 Dilated
# Reparam Blocks on the 32 x 32 and 16 x 16 maps), the augmentation (masks 12 / 12 of 128, mixup 0.2: the recipe's
# 48 / 48 and 0.6 keep this model near chance within the budget), the schedule (40 epochs, lr 2e-3, x 0.9 per epoch
# from epoch 20). No layer scale: in 200 steps the recipe's 1e-6 initial scale leaves the blocks' branches unused.
_base_ = ['./unireplknet-s_1xb128-100e_speechcommands-v2.py']

num_classes = 8
model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    backbone=dict(arch=dict(_delete_=True, depths=(1, 1, 2, 1), dims=(16, 32, 64, 128),
                            kernel_sizes=((13,), (13,), (7, 3), (3,))),
                  drop_path_rate=0.05, layer_scale_init_value=None),
    head=dict(num_classes=num_classes, in_channels=128, loss=dict(loss_weight=1.0 / num_classes)),
)
train_pipeline = [
    dict(type='largekernel.LoadAudio', sample_rate=16000),
    dict(type='largekernel.KaldiFbank', num_mel_bins=128),
    dict(type='largekernel.PadCropFrames', num_frames=128),
    dict(type='largekernel.SpecAugment', freq_mask=12, time_mask=12),
    dict(type='largekernel.NormalizeSpectrogram', mean=-6.845978, std=5.5654526),
    dict(type='largekernel.NoiseAndRoll', max_shift=10),
    dict(type='PackInputs'),
]
data_root = 'data/espeak_commands'
train_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, mix_prob=0.2, pipeline=train_pipeline))
val_dataloader = dict(batch_size=24, num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=24, num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))

max_epochs = 40
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=list(range(20, max_epochs)), gamma=0.9)]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=5))
randomness = dict(seed=0)
