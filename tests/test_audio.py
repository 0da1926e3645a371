"""Audio (UniRepLKNet §3.3, Table 8, Table 11): fbank vs Kaldi, the transforms, the Speech Commands V2 and AudioSet
loaders on fixtures in the release layouts, waveform mixup, bad input, parameter counts vs the metafile, the deploy
twin, a Runner smoke run and (slow) the small-data training beating chance."""
import glob
import json
import os.path as osp
import re
import subprocess
import sys
import wave

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import largekernel  # noqa: F401
from largekernel.datasets.audio import (AudioSet, KaldiFbank, LoadAudio, NoiseAndRoll, NormalizeSpectrogram,
                                        PadCropFrames, SpecAugment, SpeechCommandsV2, kaldi_fbank, kaldi_mel_banks,
                                        read_wav)
from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.utils import build_model_from_config, count_params, switch_to_deploy
from largekernel.utils.model_index import get_model

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURES = osp.join(ROOT, 'tests', 'data', 'audio')
SC_FIXTURE = osp.join(FIXTURES, 'speech_commands_v2')
AS_FIXTURE = osp.join(FIXTURES, 'audioset')
SMALL_DATA = osp.join(ROOT, 'data', 'espeak_commands')
CONFIGS = osp.join(ROOT, 'configs', 'unireplknet', 'audio')
SC_CONFIG = osp.join(CONFIGS, 'unireplknet-s_1xb128-100e_speechcommands-v2.py')
AS_CONFIG = osp.join(CONFIGS, 'unireplknet-s_1xb12-5e_audioset-2m.py')
SMALL_CONFIG = osp.join(CONFIGS, 'unireplknet-mini_1xb16-40e_espeak-commands.py')

pytestmark = pytest.mark.usefixtures('single_thread')


def write_wav(path, samples, rate=16000, width=2):
    """``samples``: (n,) or (n, channels) floats in [-1, 1)."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples.reshape(len(samples), -1 if samples.size else 1)
    dtype = {1: np.uint8, 2: '<i2', 4: '<i4'}[width]
    scale = 2 ** (8 * width - 1)
    ints = np.round(samples * scale + (128 if width == 1 else 0)).astype(dtype)
    with wave.open(str(path), 'wb') as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(ints.tobytes())
    return str(path)


# -- fbank vs kaldi-native-fbank --------------------------------------------------------------------------------------
def knf_fbank(waveform, num_bins, frame_length_ms=25.0):
    """Kaldi's fbank (kaldi-native-fbank) with the options AST passes to torchaudio's Kaldi fbank."""
    knf = pytest.importorskip('kaldi_native_fbank')
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = 'hanning'
    opts.frame_opts.frame_length_ms = frame_length_ms
    opts.frame_opts.frame_shift_ms = 10.0
    opts.frame_opts.snip_edges = True
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.preemph_coeff = 0.97
    opts.mel_opts.num_bins = num_bins
    opts.mel_opts.low_freq = 20.0
    opts.mel_opts.high_freq = 0.0
    opts.use_energy = False
    opts.htk_compat = True
    opts.use_power = True
    opts.use_log_fbank = True
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(16000, waveform.tolist())
    fbank.input_finished()
    return np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])


def real_clips():
    """Three clips of the committed small data set (espeak-ng speech), one with added white noise, mean removed."""
    paths = sorted(glob.glob(osp.join(SMALL_DATA, '*', 'espk0[0-2]_nohash_0.wav')))[::9]
    clips = [read_wav(p)[0][:, 0] for p in paths]
    clips[1] = clips[1] + 0.01 * np.random.default_rng(0).standard_normal(clips[1].size).astype(np.float32)
    return [c - c.mean() for c in clips]


# Kaldi refuses 128 bins with a 512-point FFT (a filter with no FFT bin, see below): the 128-bin comparison uses a
# 50 ms window. Tolerance: |difference| <= 2e-3 in log energy (kaldi-native-fbank computes in float32, we in float64).
@pytest.mark.parametrize('num_bins,frame_length_ms', [(23, 25.0), (80, 25.0), (120, 25.0), (128, 50.0)])
def test_fbank_matches_kaldi_native_fbank_on_real_audio(num_bins, frame_length_ms):
    for clip in real_clips():
        ours = kaldi_fbank(torch.from_numpy(clip), num_mel_bins=num_bins, frame_length_ms=frame_length_ms).numpy()
        ref = knf_fbank(clip, num_bins, frame_length_ms)
        assert ours.shape == ref.shape == (1 + (16000 - int(16 * frame_length_ms)) // 160, num_bins)
        assert np.abs(ours - ref).max() <= 2e-3


def test_ast_fbank_128_bins_25ms_has_one_empty_filter_floored_at_eps():
    """AST's setting (128 bins, 25 ms): filter 3 covers no FFT bin; like torchaudio's Kaldi fbank (which does not
    check, unlike Kaldi) it gives log(float32 eps) on every frame; every other filter has weight."""
    banks = kaldi_mel_banks(128, 512, 16000)
    assert banks.shape == (128, 257) and torch.all(banks[:, -1] == 0)
    assert (banks.sum(1) == 0).nonzero().flatten().tolist() == [3]
    fbank = kaldi_fbank(torch.from_numpy(real_clips()[0]))
    assert fbank.shape == (98, 128)
    assert torch.all(fbank[:, 3] == np.log(np.finfo(np.float32).eps).astype(np.float32))


def test_mmpretrain_average_precision_is_asts_macro_map():
    """AST's mAP: the mean over classes of sklearn's average_precision_score; mmpretrain's AveragePrecision (macro)
    gives the same on scores without ties."""
    from mmpretrain.evaluation import AveragePrecision
    from sklearn.metrics import average_precision_score
    rng = np.random.default_rng(0)
    target = (rng.random((200, 7)) < 0.2).astype(np.int64)
    target[0] = 1  # every class has a positive
    pred = rng.random((200, 7)) + 0.5 * target
    ast = np.mean([average_precision_score(target[:, k], pred[:, k]) for k in range(7)]) * 100
    assert AveragePrecision.calculate(torch.from_numpy(pred), torch.from_numpy(target)).item() == \
        pytest.approx(ast, abs=1e-4)


# -- transforms --------------------------------------------------------------------------------------------------------
def test_pad_crop_spec_augment_normalise_noise():
    img = np.random.default_rng(0).standard_normal((128, 98)).astype(np.float32) - 5
    padded = PadCropFrames(num_frames=128).transform(dict(img=img))['img']
    assert padded.shape == (128, 128) and np.all(padded[:, 98:] == 0) and np.array_equal(padded[:, :98], img)
    assert np.array_equal(PadCropFrames(num_frames=64).transform(dict(img=img))['img'], img[:, :64])
    widths = set()
    for _ in range(50):
        masked = SpecAugment(freq_mask=48, time_mask=20).transform(dict(img=padded))['img']
        zero_rows = np.flatnonzero(np.all(masked[:, :98] == 0, axis=1))
        zero_cols = np.flatnonzero(np.all(masked == 0, axis=0))
        zero_cols = zero_cols[zero_cols < 98]
        assert zero_rows.size < 48 and zero_cols.size < 20
        for idx in (zero_rows, zero_cols):  # one contiguous span each
            assert idx.size == 0 or idx[-1] - idx[0] + 1 == idx.size
        widths.add(zero_rows.size)
    assert len(widths) > 5  # random widths
    normed = NormalizeSpectrogram(mean=-6.845978, std=5.5654526).transform(dict(img=padded))['img']
    np.testing.assert_allclose(normed, (padded + 6.845978) / (2 * 5.5654526), rtol=1e-6)
    noisy = NoiseAndRoll(max_shift=10).transform(dict(img=normed))['img']
    shifts = [s for s in range(-10, 10) if np.all(np.abs(np.roll(noisy, -s, axis=1) - normed) <= 0.1 + 1e-6)]
    assert len(shifts) >= 1 and noisy.dtype == np.float32


def test_pipeline_output_is_a_single_channel_frequency_by_time_map():
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(SC_CONFIG)
    ds = SpeechCommandsV2(data_root=SC_FIXTURE, split='val', test_mode=True, pipeline=cfg.test_pipeline)
    packed = ds[0]
    wav = read_wav(ds.get_data_info(0)['audio_path'])[0][:, 0]
    expected = (kaldi_fbank(torch.from_numpy(wav - wav.mean())).T + 6.845978) / (2 * 5.5654526)
    assert packed['inputs'].shape == (1, 128, 128)  # C' = 1, H = F = 128 bins, W = T = 128 frames
    torch.testing.assert_close(packed['inputs'][0, :, :expected.shape[1]], expected, rtol=1e-5, atol=1e-5)
    assert torch.all(packed['inputs'][0, :, expected.shape[1]:] == (0 + 6.845978) / (2 * 5.5654526))


# -- datasets ----------------------------------------------------------------------------------------------------------
def test_speech_commands_v2_layout_splits_and_classes():
    splits = {s: SpeechCommandsV2(data_root=SC_FIXTURE, split=s, test_mode=s != 'train')
              for s in ('train', 'val', 'test')}
    assert all(ds.metainfo['classes'] == ('no', 'yes') for ds in splits.values())
    names = {s: sorted(osp.relpath(ds.get_data_info(i)['audio_path'], SC_FIXTURE) for i in range(len(ds)))
             for s, ds in splits.items()}
    assert names == {'train': ['no/espk00_nohash_0.wav', 'yes/espk00_nohash_0.wav'],
                     'val': ['no/espk10_nohash_0.wav', 'yes/espk10_nohash_0.wav'],
                     'test': ['no/espk12_nohash_0.wav', 'yes/espk12_nohash_0.wav']}
    ds = splits['train']
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == [0, 1]  # _background_noise_ is skipped


def test_small_data_set_is_read_by_the_same_loader():
    counts = {s: len(SpeechCommandsV2(data_root=SMALL_DATA, split=s, test_mode=s != 'train'))
              for s in ('train', 'val', 'test')}
    assert counts == {'train': 80, 'val': 16, 'test': 24}
    for path in glob.glob(osp.join(SMALL_DATA, '*', '*.wav'))[:10]:
        data, rate = read_wav(path)
        assert data.shape == (16000, 1) and rate == 16000


def test_audioset_json_multilabel():
    ds = AudioSet(ann_file=osp.join(AS_FIXTURE, 'eval_data.json'), label_csv='class_labels_indices.csv',
                  data_root=AS_FIXTURE, test_mode=True)
    assert ds.metainfo['classes'] == ('Speech', 'Male speech, man speaking', 'Female speech, woman speaking')
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [[0, 1], [0, 2], [0]]
    assert all(osp.isfile(ds.get_data_info(i)['audio_path']) for i in range(3))


def test_audioset_recipe_data_on_the_fixture():
    """The AS-2M config's training dataset on the fixture: 1024 frames, soft multi-label targets (mixup 0.5)."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(AS_CONFIG)
    from mmpretrain.registry import DATASETS
    ds = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=AS_FIXTURE, ann_file='eval_data.json'))
    sample = ds[0]
    assert sample['inputs'].shape == (1, 128, 1024)
    score = sample['data_samples'].gt_score
    assert score.shape == (3,) and score[0] == pytest.approx(1.0)  # every fixture clip is labelled "Speech"


def test_waveform_mixup_as_ast():
    """mix_prob=1: every clip is mixed with a drawn one, waveforms lam * a + (1 - lam) * b (second padded / cut to the
    first), mean removed; targets lam / 1 - lam (multi-label: added per label)."""
    ds = AudioSet(ann_file=osp.join(AS_FIXTURE, 'eval_data.json'), label_csv='class_labels_indices.csv',
                  data_root=AS_FIXTURE, mix_prob=1.0, pipeline=[dict(type='largekernel.LoadAudio')])
    for i in range(6):
        out = ds[i % 3]
        lam, other = out['mix_lambda'], out['mix_results']
        a, b = (read_wav(p)[0][:, 0] for p in (out['audio_path'], other['audio_path']))
        a, b = a - a.mean(), b - b.mean()
        mixed = lam * a + (1 - lam) * b
        np.testing.assert_allclose(out['waveform'], mixed - mixed.mean(), atol=1e-6)
        expected = np.zeros(3, dtype=np.float32)
        np.add.at(expected, out['gt_label'], lam)
        np.add.at(expected, other['gt_label'], 1 - lam)
        np.testing.assert_allclose(out['gt_score'].numpy(), expected, rtol=1e-6)
        assert 0.1 < lam < 0.9
    sc = SpeechCommandsV2(data_root=SC_FIXTURE, split='train', mix_prob=0.5)
    scores = [sc.prepare_data(0)['gt_score'] for _ in range(40)]
    assert all(s.sum().item() == pytest.approx(1.0) for s in scores)
    assert any(s.max() < 1 for s in scores) and any(s.max() == 1 for s in scores)


# -- bad input ---------------------------------------------------------------------------------------------------------
def test_wrong_sample_rate_is_named_and_resampling_is_opt_in(tmp_path):
    t = np.arange(8000) / 8000
    path = write_wav(tmp_path / 'slow.wav', 0.3 * np.sin(2 * np.pi * 440 * t), rate=8000)
    with pytest.raises(ValueError, match=r'8000 Hz; valid: 16000 Hz.*resample=True'):
        LoadAudio().transform(dict(audio_path=path))
    wav = LoadAudio(resample=True).transform(dict(audio_path=path))['waveform']
    assert wav.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(wav))
    assert abs(np.argmax(spectrum) - 440) <= 2  # 1 Hz bins: the tone stays at 440 Hz


def test_wrong_channel_count_is_named_and_downmix_is_opt_in(tmp_path):
    rng = np.random.default_rng(0)
    stereo = 0.2 * rng.standard_normal((4000, 2))
    path = write_wav(tmp_path / 'stereo.wav', stereo)
    with pytest.raises(ValueError, match=r'2 channels; valid: 1 \(mono\).*to_mono=True'):
        LoadAudio().transform(dict(audio_path=path))
    wav = LoadAudio(to_mono=True).transform(dict(audio_path=path))['waveform']
    ints = np.round(stereo * 32768) / 32768
    np.testing.assert_allclose(wav, ints.mean(1) - ints.mean(), atol=1e-6)


def test_unreadable_empty_and_short_files(tmp_path):
    garbage = tmp_path / 'garbage.wav'
    garbage.write_bytes(b'not a wav file at all')
    with pytest.raises(ValueError, match='cannot read .*garbage.wav.* as a PCM wav file'):
        LoadAudio().transform(dict(audio_path=str(garbage)))
    with pytest.raises(ValueError, match='cannot read .*missing.wav'):
        LoadAudio().transform(dict(audio_path=str(tmp_path / 'missing.wav')))
    empty = write_wav(tmp_path / 'empty.wav', np.zeros(0))
    with pytest.raises(ValueError, match='empty.wav.* has no samples'):
        LoadAudio().transform(dict(audio_path=empty))
    with pytest.raises(ValueError, match='24-bit samples; valid: 8-, 16- or 32-bit PCM'):
        with wave.open(str(tmp_path / 'deep.wav'), 'wb') as f:
            f.setnchannels(1)
            f.setsampwidth(3)
            f.setframerate(16000)
            f.writeframes(b'\0' * 3000)
        LoadAudio().transform(dict(audio_path=str(tmp_path / 'deep.wav')))
    short = LoadAudio().transform(dict(audio_path=write_wav(tmp_path / 'short.wav', 0.1 * np.ones(399))))
    with pytest.raises(ValueError, match=r'399 samples are shorter than one 25.0 ms frame \(400 samples at 16000 Hz'):
        KaldiFbank().transform(short)
    # 8- and 32-bit PCM are read and scaled as torchaudio does
    for width in (1, 4):
        x = LoadAudio().transform(dict(audio_path=write_wav(tmp_path / f'w{width}.wav', 0.5 * np.ones(500),
                                                                  width=width)))
        assert x['waveform'].shape == (500,) and np.abs(x['waveform']).max() < 1e-6  # constant: mean removed


def test_bad_dataset_layouts_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown split 'dev'; valid"):
        SpeechCommandsV2(data_root=SC_FIXTURE, split='dev')
    with pytest.raises(ValueError, match=r"classes \['yes', 'no', 'up'\] do not match the word folders \['no', 'yes"):
        SpeechCommandsV2(data_root=SC_FIXTURE, classes=['yes', 'no', 'up'])
    (tmp_path / 'yes').mkdir()
    with pytest.raises(FileNotFoundError, match='validation_list.txt.* is missing'):
        SpeechCommandsV2(data_root=str(tmp_path))
    with pytest.raises(ValueError, match='mix_prob=0.6 with test_mode=True'):
        SpeechCommandsV2(data_root=SC_FIXTURE, split='val', test_mode=True, mix_prob=0.6)
    ann = tmp_path / 'bad.json'
    ann.write_text(json.dumps(dict(data=[dict(wav='a.wav', labels='/m/09x0r,/m/unknown')])))
    with pytest.raises(ValueError, match=r"labels \['/m/unknown'\] that .* does not list \(it has 3 classes\)"):
        AudioSet(ann_file=str(ann), label_csv=osp.join(AS_FIXTURE, 'class_labels_indices.csv'))


# -- models ------------------------------------------------------------------------------------------------------------
def deploy_count(config):
    with torch.device('meta'):
        return count_params(build_model_from_config(config, deploy=True))


def test_parameter_counts_vs_table_8():
    """Table 8 prints 55.5M for UniRepLKNet-S (one figure for both data sets; deploy form, as the paper counts).
    No head gives 55.5M exactly: the deploy backbone (with its final LayerNorm) + LayerNorm + Linear is 54.90M for 35
    classes, 55.28M for 527, and the ImageNet 1000-way Linear gives 55.65M; the training form is 55.69M before any
    head. The published count lies between the AS-2M (527) and the ImageNet-head counts; we check the AS-2M model
    within 0.25M (0.45 %) and that the Speech Commands model differs from it only by the head."""
    as2m = deploy_count(AS_CONFIG)
    sc = deploy_count(SC_CONFIG)
    published = get_model('unireplknet-s_1xb12-5e_audioset-2m').params
    assert get_model('unireplknet-s_1xb128-100e_speechcommands-v2').params == published
    assert abs(as2m - published) <= 250_000, as2m
    assert as2m - sc == (527 - 35) * (768 + 1)
    with torch.device('meta'):
        training = count_params(build_model_from_config(SC_CONFIG))
    assert training > published  # the training form (DRB branches, BNs) is larger than the published count


def perturb(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    randomize_bn_stats(model, g)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(('grn.gamma', 'grn.beta', '.gamma')):
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
    return model


def test_deploy_twin_of_the_speech_commands_model_gives_the_same_logits():
    torch.manual_seed(0)
    model = perturb(build_model_from_config(SC_CONFIG)).double().eval()
    x = torch.randn(1, 1, 128, 32, dtype=torch.float64)  # 128 mel bins x 32 frames (a short clip)
    with torch.no_grad():
        before = model(x, mode='tensor')
        switch_to_deploy(model)
        after = model(x, mode='tensor')
        twin = build_model_from_config(SC_CONFIG, deploy=True).double().eval()
        twin.load_state_dict(model.state_dict())
        from_twin = twin(x, mode='tensor')
    assert ((after - before).norm() / before.norm()).item() <= 1e-10
    assert ((from_twin - before).norm() / before.norm()).item() <= 1e-10


@pytest.mark.parametrize('config', sorted(glob.glob(osp.join(CONFIGS, 'ablations', '*.py'))), ids=osp.basename)
def test_table_11_ablations_swap_only_the_backbone(config):
    cfg, base = Config.fromfile(config), Config.fromfile(SC_CONFIG)
    assert cfg.train_cfg.max_epochs == base.train_cfg.max_epochs and cfg.optim_wrapper == base.optim_wrapper
    assert cfg.train_dataloader == base.train_dataloader and cfg.model.head.type == base.model.head.type
    name = osp.splitext(osp.basename(config))[0]
    with open(osp.join(ROOT, 'configs', 'unireplknet', 'metafile.yml')) as f:
        rows = [r for r in yaml.safe_load(f)['Ablations'] if r['Name'] == name]
    assert len(rows) == 1 and rows[0]['Config'] == osp.relpath(config, ROOT) and 'Table 11' in rows[0]['Table']
    model = build_model_from_config(config)
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, 1, 128, 64), mode='tensor')
    assert out.shape == (1, 35)
    if 'k11' in name:
        kernels = {m.kernel_size for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d)
                   and m.groups == m.in_channels > 1}
        assert (11, 11) in kernels and (13, 13) not in kernels


# -- training through the tools ----------------------------------------------------------------------------------------
def smoke_config(tmp_path, audioset=False):
    """The small-data config on a fixture, one iteration of training and a validation pass."""
    cfg = Config.fromfile(SMALL_CONFIG)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].batch_size = 2
        cfg[loader].dataset.data_root = SC_FIXTURE
    cfg.model.head.num_classes = cfg.model.data_preprocessor.num_classes = 2
    if audioset:
        cfg.model.data_preprocessor = dict(type='ClsDataPreprocessor')
        cfg.model.head = dict(type='largekernel.NormLinearMultiLabelClsHead', num_classes=3, in_channels=128,
                              loss=dict(type='CrossEntropyLoss', use_sigmoid=True))
        dataset = dict(type='largekernel.AudioSet', data_root=AS_FIXTURE, label_csv='class_labels_indices.csv',
                       ann_file='eval_data.json')
        cfg.train_dataloader.dataset = dict(dataset, mix_prob=0.5, pipeline=cfg.train_pipeline)
        cfg.val_dataloader.dataset = dict(dataset, test_mode=True, pipeline=cfg.test_pipeline)
        cfg.test_dataloader = cfg.val_dataloader
        cfg.val_evaluator = cfg.test_evaluator = dict(type='AveragePrecision')
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.work_dir = str(tmp_path / 'work')
    return cfg


@pytest.mark.parametrize('audioset', [False, True], ids=['speech-commands', 'audioset'])
def test_runner_smoke(tmp_path, audioset):
    from mmengine.runner import Runner
    runner = Runner.from_cfg(smoke_config(tmp_path, audioset))
    runner.train()
    metrics = runner.test()
    key = 'multi-label/mAP' if audioset else 'accuracy/top1'
    assert 0 <= metrics[key] <= 100
    assert osp.isfile(osp.join(runner.work_dir, 'epoch_1.pth'))


def run_tool(*args):
    env = {'PYTHONPATH': ROOT, 'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)


@pytest.mark.slow
def test_small_data_training_beats_chance(tmp_path):
    """tools/train.py + tools/test.py on data/espeak_commands: the test voices are unseen; chance is 12.5 %."""
    work = str(tmp_path / 'work')
    result = run_tool('tools/train.py', SMALL_CONFIG, '--work-dir', work)
    assert result.returncode == 0, result.stderr[-3000:]
    best = glob.glob(osp.join(work, 'best_accuracy_top1_epoch_*.pth'))
    assert len(best) == 1
    result = run_tool('tools/test.py', SMALL_CONFIG, best[0], '--work-dir', work)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    top1 = float(re.findall(r'Epoch\(test\) \[\d+/\d+\]\s+accuracy/top1: (\d+\.\d+)', log)[-1])
    chance = 100 / len(SpeechCommandsV2(data_root=SMALL_DATA, split='test', test_mode=True).metainfo['classes'])
    assert top1 >= 3 * chance, top1
