"""Audio for UniRepLKNet (UniRepLKNet §3.3 "Audio", §4.2 Table 8): a clip becomes a 1 x F x T map, F = 128 log-Mel
bins, T frames of 10 ms, read by the unchanged backbone with ``in_channels=1`` (C' = 1, H = F, W = T).

The recipe is the official one, which follows AST (Gong et al., "AST: Audio Spectrogram Transformer", 2021): a
Kaldi-compatible log-Mel filter bank, zero padding / cropping to a fixed number of frames, SpecAugment masks, the
dataset normalisation ``(x - mean) / (2 std)`` and, for Speech Commands, a small random offset plus a time roll.
Mixup mixes waveforms (AST's dataset) and is done by the datasets here (``mix_prob``).

Pipeline: ``LoadAudio -> KaldiFbank -> PadCropFrames -> SpecAugment -> NormalizeSpectrogram -> [NoiseAndRoll] ->
PackInputs``; the map is stored as ``results['img']`` (F x T float32), which ``PackInputs`` turns into 1 x F x T.
"""
import csv
import json
import math
import os
import os.path as osp
import random
import wave

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.datasets import BaseDataset

from ..registry import DATASETS, TRANSFORMS

# -- Kaldi-compatible log-Mel filter bank -------------------------------------------------------------------------
def _mel(freq):
    return 1127.0 * torch.log1p(freq / 700.0)


def kaldi_mel_banks(num_bins, window_size, sample_rate, low_freq=20.0, high_freq=0.0):
    """Kaldi's triangular Mel filters (``num_bins x (window_size // 2 + 1)``, last column zero), triangles equally
    spaced on the Mel scale ``1127 ln(1 + f / 700)`` between ``low_freq`` and ``high_freq`` (<= 0: offset from
    Nyquist)."""
    nyquist = sample_rate / 2
    high = high_freq if high_freq > 0 else nyquist + high_freq
    if not 0 <= low_freq < high <= nyquist:
        raise ValueError(f'kaldi_mel_banks: need 0 <= low_freq < high_freq <= Nyquist ({nyquist}); got low_freq='
                         f'{low_freq}, high_freq={high}')
    num_fft_bins = window_size // 2
    mel_low, mel_high = _mel(torch.tensor(float(low_freq), dtype=torch.float64)), \
        _mel(torch.tensor(float(high), dtype=torch.float64))
    delta = (mel_high - mel_low) / (num_bins + 1)
    edges = mel_low + delta * torch.arange(num_bins + 2, dtype=torch.float64)
    left, center, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    mel = _mel(sample_rate / window_size * torch.arange(num_fft_bins, dtype=torch.float64))[None]
    up, down = (mel - left) / (center - left), (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return torch.nn.functional.pad(banks, (0, 1))


def kaldi_fbank(waveform, *, sample_rate=16000, num_mel_bins=128, frame_length_ms=25.0, frame_shift_ms=10.0,
                preemphasis=0.97, low_freq=20.0, high_freq=0.0):
    """Log-Mel filter bank energies as Kaldi's ``compute-fbank-feats`` with the options AST uses (Hanning window, no
    dither, DC offset removed per frame, pre-emphasis, power spectrum, ``snip_edges``, no energy term; log floored
    at float32 epsilon). ``waveform``: 1-D tensor; returns ``frames x num_mel_bins`` (float32)."""
    waveform = torch.as_tensor(waveform)
    if waveform.ndim != 1:
        raise ValueError(f'kaldi_fbank: expects a 1-D waveform, got shape {tuple(waveform.shape)}')
    window_size = int(sample_rate * frame_length_ms / 1000)
    shift = int(sample_rate * frame_shift_ms / 1000)
    if waveform.numel() < window_size:
        raise ValueError(f'kaldi_fbank: {waveform.numel()} samples are shorter than one {frame_length_ms} ms frame '
                         f'({window_size} samples at {sample_rate} Hz)')
    x = waveform.to(torch.float64)
    frames = x.unfold(0, window_size, shift)  # snip_edges: only whole frames
    frames = frames - frames.mean(dim=1, keepdim=True)
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)  # Kaldi repeats the first sample
    frames = frames - preemphasis * previous
    frames = frames * torch.hann_window(window_size, periodic=False, dtype=torch.float64)
    padded = 1 << (window_size - 1).bit_length()  # round_to_power_of_two
    power = torch.fft.rfft(frames, n=padded).abs().pow(2)
    mel = power @ kaldi_mel_banks(num_mel_bins, padded, sample_rate, low_freq, high_freq).T
    return torch.log(torch.clamp(mel, min=torch.finfo(torch.float32).eps)).to(torch.float32)


# -- reading wav files --------------------------------------------------------------------------------------------
def read_wav(path):
    """``(samples x channels float32 in [-1, 1), sample rate)`` of a PCM wav file (8-bit unsigned, 16/32-bit
    signed: scaled as ``torchaudio.load`` does)."""
    try:
        with wave.open(path, 'rb') as f:
            rate, channels, width, n = f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes()
            raw = f.readframes(n)
    except (OSError, EOFError, wave.Error) as e:
        raise ValueError(f'LoadAudio: cannot read {path!r} as a PCM wav file: {e}') from None
    dtypes = {1: np.uint8, 2: np.int16, 4: np.int32}
    if width not in dtypes:
        raise ValueError(f'LoadAudio: {path!r} has {8 * width}-bit samples; valid: 8-, 16- or 32-bit PCM')
    data = np.frombuffer(raw, dtype=dtypes[width]).astype(np.float32)
    if width == 1:
        data = data - 128.0
    data = data / float(2 ** (8 * width - 1))
    return data.reshape(-1, channels), rate


@TRANSFORMS.register_module()
class LoadAudio(BaseTransform):
    """Read ``results['audio_path']`` into ``results['waveform']`` (1-D float32) with its mean removed (AST).

    If the dataset put a second clip in ``results['mix_results']`` with ``results['mix_lambda']`` (waveform mixup),
    both are read and mixed as AST does: the second is zero-padded / cut to the first's length, the mix
    ``lam * a + (1 - lam) * b`` has its mean removed again.

    Args:
        sample_rate (int): the rate the recipe expects (16 kHz for Speech Commands V2 and AudioSet).
        resample (bool): opt-in repair of other rates by polyphase resampling; otherwise they are an error.
        to_mono (bool): opt-in repair of multi-channel files by averaging the channels; otherwise an error.
    """

    def __init__(self, sample_rate=16000, resample=False, to_mono=False):
        self.sample_rate, self.resample, self.to_mono = sample_rate, resample, to_mono

    def _read(self, path):
        data, rate = read_wav(path)
        if data.shape[1] != 1:
            if not self.to_mono:
                raise ValueError(f'LoadAudio: {path!r} has {data.shape[1]} channels; valid: 1 (mono), or pass '
                                 'to_mono=True to average the channels')
            data = data.mean(axis=1, keepdims=True)
        data = data[:, 0]
        if rate != self.sample_rate:
            if not self.resample:
                raise ValueError(f'LoadAudio: {path!r} is sampled at {rate} Hz; valid: {self.sample_rate} Hz, or '
                                 'pass resample=True to resample it')
            from scipy.signal import resample_poly
            g = math.gcd(rate, self.sample_rate)
            data = resample_poly(data, self.sample_rate // g, rate // g).astype(np.float32)
        if data.size == 0:
            raise ValueError(f'LoadAudio: {path!r} has no samples')
        if not np.isfinite(data).all():
            raise ValueError(f'LoadAudio: {path!r} contains NaN or infinite samples')
        return data - data.mean()

    def transform(self, results):
        wav = self._read(results['audio_path'])
        if 'mix_results' in results:
            other = self._read(results['mix_results']['audio_path'])
            other = np.pad(other, (0, max(0, wav.size - other.size)))[:wav.size]
            lam = results['mix_lambda']
            wav = lam * wav + (1 - lam) * other
            wav = wav - wav.mean()
        results['waveform'] = wav.astype(np.float32)
        results['sample_rate'] = self.sample_rate
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(sample_rate={self.sample_rate}, resample={self.resample}, '
                f'to_mono={self.to_mono})')


@TRANSFORMS.register_module()
class KaldiFbank(BaseTransform):
    """``results['waveform']`` -> ``results['img']``: the log-Mel filter bank (``kaldi_fbank``) transposed to
    ``num_mel_bins x frames`` (the paper's H = F, W = T)."""

    def __init__(self, num_mel_bins=128, frame_length_ms=25.0, frame_shift_ms=10.0):
        self.kwargs = dict(num_mel_bins=num_mel_bins, frame_length_ms=frame_length_ms, frame_shift_ms=frame_shift_ms)

    def transform(self, results):
        wav = torch.from_numpy(np.ascontiguousarray(results['waveform']))
        fbank = kaldi_fbank(wav, sample_rate=results.get('sample_rate', 16000), **self.kwargs)
        results['img'] = fbank.T.contiguous().numpy()
        results['img_shape'] = results['img'].shape
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}({", ".join(f"{k}={v}" for k, v in self.kwargs.items())})'


@TRANSFORMS.register_module()
class PadCropFrames(BaseTransform):
    """Zero-pad (at the end) or cut the time axis of ``results['img']`` to ``num_frames`` (AST: 128 for Speech
    Commands V2, 1024 for AudioSet)."""

    def __init__(self, num_frames):
        if num_frames <= 0:
            raise ValueError(f'PadCropFrames: num_frames must be positive, got {num_frames}')
        self.num_frames = num_frames

    def transform(self, results):
        img = results['img'][:, :self.num_frames]
        results['img'] = np.pad(img, ((0, 0), (0, self.num_frames - img.shape[1])))
        results['img_shape'] = results['img'].shape
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(num_frames={self.num_frames})'


def _mask_span(size, max_width, rng):
    """torchaudio's ``mask_along_axis``: width ``floor(u * max_width)``, start ``floor(v * (size - u * max_width))``
    with u, v uniform in [0, 1)."""
    value = rng.random() * max_width
    start = int(rng.random() * (size - value))
    return start, start + int(value)


@TRANSFORMS.register_module()
class SpecAugment(BaseTransform):
    """One frequency mask and one time mask (Park et al., 2019) of random widths below ``freq_mask`` /
    ``time_mask``, set to zero before normalisation as AST does (official Speech Commands recipe: 48 and 48)."""

    def __init__(self, freq_mask=48, time_mask=48):
        if freq_mask < 0 or time_mask < 0:
            raise ValueError(f'SpecAugment: mask widths must be >= 0, got freq_mask={freq_mask}, time_mask={time_mask}')
        self.freq_mask, self.time_mask = freq_mask, time_mask

    def transform(self, results):
        img = results['img'].copy()
        if self.freq_mask:
            lo, hi = _mask_span(img.shape[0], self.freq_mask, random)
            img[lo:hi] = 0
        if self.time_mask:
            lo, hi = _mask_span(img.shape[1], self.time_mask, random)
            img[:, lo:hi] = 0
        results['img'] = img
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(freq_mask={self.freq_mask}, time_mask={self.time_mask})'


@TRANSFORMS.register_module()
class NormalizeSpectrogram(BaseTransform):
    """``(x - mean) / (2 std)`` with the dataset's fbank statistics (AST; Speech Commands V2: -6.846 / 5.565,
    AudioSet: -4.268 / 4.569)."""

    def __init__(self, mean, std):
        if not std > 0:
            raise ValueError(f'NormalizeSpectrogram: std must be positive, got {std}')
        self.mean, self.std = mean, std

    def transform(self, results):
        results['img'] = ((results['img'] - self.mean) / (2 * self.std)).astype(np.float32)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(mean={self.mean}, std={self.std})'


@TRANSFORMS.register_module()
class NoiseAndRoll(BaseTransform):
    """AST's Speech Commands augmentation (``noise=True``), after normalisation: add ``u * U(0, 1) / 10`` per bin
    (one u ~ U(0, 1) per clip), then roll the time axis by an integer shift in [-max_shift, max_shift)."""

    def __init__(self, max_shift=10):
        self.max_shift = max_shift

    def transform(self, results):
        img = results['img']
        img = img + np.random.rand(*img.shape).astype(np.float32) * (np.random.rand() / 10)
        results['img'] = np.roll(img, np.random.randint(-self.max_shift, self.max_shift), axis=1).astype(np.float32)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(max_shift={self.max_shift})'


# -- datasets -----------------------------------------------------------------------------------------------------
class _MixupAudioDataset(BaseDataset):
    """Waveform mixup as AST's dataset: with probability ``mix_prob`` a uniformly drawn second clip is mixed in with
    ``lam ~ Beta(mix_alpha, mix_alpha)`` (``LoadAudio`` mixes the waveforms) and the targets become
    ``gt_score = lam * y_a + (1 - lam) * y_b``; with ``mix_prob > 0`` every sample carries a ``gt_score`` (one-hot
    when not mixed) so that a batch stacks."""

    def __init__(self, *args, mix_prob=0.0, mix_alpha=10.0, **kwargs):
        if not 0 <= mix_prob <= 1:
            raise ValueError(f'{type(self).__name__}: mix_prob must be in [0, 1], got {mix_prob}')
        if mix_prob and kwargs.get('test_mode'):
            raise ValueError(f'{type(self).__name__}: mix_prob={mix_prob} with test_mode=True; mixup is for training')
        self.mix_prob, self.mix_alpha = mix_prob, mix_alpha
        super().__init__(*args, **kwargs)

    def _scores(self, info):
        score = np.zeros(len(self.CLASSES), dtype=np.float32)
        np.add.at(score, np.asarray(info['gt_label']).reshape(-1), 1.0)
        return score

    def prepare_data(self, idx):
        results = self.get_data_info(idx)
        if self.mix_prob > 0:
            if random.random() < self.mix_prob:
                other = self.get_data_info(random.randint(0, len(self) - 1))
                lam = float(np.random.beta(self.mix_alpha, self.mix_alpha))
                results['mix_results'], results['mix_lambda'] = other, lam
                results['gt_score'] = torch.from_numpy(lam * self._scores(results) + (1 - lam) * self._scores(other))
            else:
                results['gt_score'] = torch.from_numpy(np.minimum(self._scores(results), 1.0))
        return self.pipeline(results)


@DATASETS.register_module()
class SpeechCommandsV2(_MixupAudioDataset):
    """Speech Commands V2 (Warden, 2018) in its release layout, 35 words for the paper's SPC-2 (Table 8)::

        data_root/
            backward/0165e0e8_nohash_0.wav ...   one folder per word
            _background_noise_/                  ignored
            validation_list.txt                  'word/file.wav' per line
            testing_list.txt

    ``split='train'``: every clip in neither list; ``'val'`` / ``'test'``: the lists. Classes are the word folders
    in sorted order (the order of AST's label csv), or ``classes`` if given (they must match the folders).
    """

    SPLITS = ('train', 'val', 'test')
    LISTS = dict(val='validation_list.txt', test='testing_list.txt')

    def __init__(self, data_root, split='train', classes=None, **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f'SpeechCommandsV2: unknown split {split!r}; valid: {self.SPLITS}')
        if not osp.isdir(data_root):
            raise FileNotFoundError(f'SpeechCommandsV2: data_root {data_root!r} is not a directory')
        words = sorted(d for d in os.listdir(data_root)
                       if osp.isdir(osp.join(data_root, d)) and not d.startswith('_'))
        if not words:
            raise ValueError(f'SpeechCommandsV2: no word folders in {data_root!r}')
        if classes is not None and sorted(classes) != words:
            raise ValueError(f'SpeechCommandsV2: classes {list(classes)} do not match the word folders {words} of '
                             f'{data_root!r}')
        self.split = split
        super().__init__(ann_file='', data_root=data_root, metainfo=dict(classes=tuple(classes or words)),
                         **kwargs)

    def _read_list(self, name):
        path = osp.join(self.data_root, name)
        if not osp.isfile(path):
            raise FileNotFoundError(f'SpeechCommandsV2: {path!r} is missing (the release ships validation_list.txt '
                                    'and testing_list.txt)')
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]

    def load_data_list(self):
        held_out = {split: self._read_list(name) for split, name in self.LISTS.items()}
        if self.split == 'train':
            excluded = set(held_out['val']) | set(held_out['test'])
            files = [f'{w}/{n}' for w in self.CLASSES for n in sorted(os.listdir(osp.join(self.data_root, w)))
                     if n.endswith('.wav') and f'{w}/{n}' not in excluded]
        else:
            files = held_out[self.split]
        index = {w: i for i, w in enumerate(self.CLASSES)}
        data_list = []
        for rel in files:
            word = rel.split('/')[0]
            if word not in index:
                raise ValueError(f'SpeechCommandsV2: {rel!r} (in the {self.split} split) is in no word folder; '
                                 f'words: {list(self.CLASSES)}')
            data_list.append(dict(audio_path=osp.join(self.data_root, rel), gt_label=index[word]))
        if not data_list:
            raise ValueError(f'SpeechCommandsV2: the {self.split} split of {self.data_root!r} is empty')
        return data_list


@DATASETS.register_module()
class AudioSet(_MixupAudioDataset):
    """AudioSet (Gemmeke et al., 2017) as AST's data files, multi-label (527 classes for AS-2M, Table 8)::

        ann_file: {"data": [{"wav": "path/to/clip.wav", "labels": "/m/09x0r,/m/05zppz"}, ...]}
        label_csv: class_labels_indices.csv with columns index,mid,display_name

    Relative ``wav`` paths are joined to ``data_prefix`` (or ``data_root``). ``gt_label`` is the list of class
    indices; evaluate with mmpretrain's ``AveragePrecision`` (macro mAP, AST's metric).
    """

    def __init__(self, ann_file, label_csv, data_root='', data_prefix='', **kwargs):
        self.label_csv = osp.join(data_root, label_csv) if data_root and not osp.isabs(label_csv) else label_csv
        self.mids, names = self._read_labels(self.label_csv)
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=dict(audio_path=data_prefix),
                         metainfo=dict(classes=tuple(names)), **kwargs)

    @staticmethod
    def _read_labels(path):
        if not osp.isfile(path):
            raise FileNotFoundError(f'AudioSet: label_csv {path!r} does not exist')
        with open(path, newline='') as f:
            rows = list(csv.DictReader(f))
        if not rows or not {'index', 'mid', 'display_name'} <= set(rows[0]):
            raise ValueError(f'AudioSet: {path!r} needs the columns index,mid,display_name')
        rows.sort(key=lambda r: int(r['index']))
        if [int(r['index']) for r in rows] != list(range(len(rows))):
            raise ValueError(f'AudioSet: the indices of {path!r} are not 0..{len(rows) - 1}')
        return {r['mid']: int(r['index']) for r in rows}, [r['display_name'] for r in rows]

    def load_data_list(self):
        with open(self.ann_file) as f:
            data = json.load(f).get('data')
        if not data:
            raise ValueError(f'AudioSet: {self.ann_file!r} has no entries under "data"')
        prefix = self.data_prefix.get('audio_path') or ''
        data_list = []
        for item in data:
            labels = [m for m in item['labels'].split(',') if m]
            unknown = [m for m in labels if m not in self.mids]
            if not labels:
                raise ValueError(f'AudioSet: {item["wav"]!r} in {self.ann_file!r} has no labels')
            if unknown:
                raise ValueError(f'AudioSet: {item["wav"]!r} has labels {unknown} that {self.label_csv!r} does not '
                                 f'list (it has {len(self.mids)} classes)')
            data_list.append(dict(audio_path=osp.join(prefix, item['wav']), gt_label=[self.mids[m] for m in labels]))
        return data_list
