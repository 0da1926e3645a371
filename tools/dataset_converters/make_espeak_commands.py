"""Make the small Speech-Commands-style data set ``data/espeak_commands`` and the loader fixtures ``tests/data/audio``.

Eight Speech Commands V2 words spoken by the espeak-ng speech synthesiser (Debian package ``espeak-ng``, program
licensed GPL-3.0-or-later, https://github.com/espeak-ng/espeak-ng) with 15 "speakers" (an English voice, a voice
variant, a speed and a pitch), written in the Speech Commands V2 release layout: one folder per word of 16 kHz mono
16-bit 1 s clips, ``validation_list.txt`` and ``testing_list.txt``. The split is by speaker (10 train, 2 val, 3 test
speakers), as Speech Commands splits by speaker. The utterance list is fixed below; espeak-ng's output is
deterministic for one version, so the files are reproducible with the version recorded in the data README.

The fixtures are tiny copies of both full-size layouts (0.2 s clips): Speech Commands V2 (two words, a
``_background_noise_`` folder the loader must skip) and AudioSet (AST's json data file + ``class_labels_indices.csv``).

    python tools/dataset_converters/make_espeak_commands.py            # data/espeak_commands + tests/data/audio
"""
import argparse
import csv
import json
import os
import os.path as osp
import shutil
import subprocess
import tempfile
import wave

import numpy as np

WORDS = ('down', 'go', 'left', 'no', 'right', 'stop', 'up', 'yes')
# (voice, variant, words per minute, pitch 0-99); speakers 0-9 train, 10-11 val, 12-14 test
SPEAKERS = (
    ('en-us', 'm1', 150, 50), ('en-gb', 'f1', 160, 60), ('en-gb-scotland', 'm3', 140, 40),
    ('en-029', 'f2', 170, 55), ('en-gb-x-rp', 'm2', 130, 45), ('en-us-nyc', 'f4', 155, 65),
    ('en-gb-x-gbclan', 'm4', 165, 35), ('en-gb-x-gbcwmd', 'f3', 145, 70), ('en-us', 'klatt', 175, 50),
    ('en-gb', 'm6', 135, 30),
    ('en-us', 'f5', 150, 60), ('en-gb-scotland', 'm7', 160, 45),
    ('en-029', 'm5', 145, 50), ('en-gb-x-rp', 'f2', 165, 55), ('en-us-nyc', 'm2', 140, 40),
)
SPLITS = dict(val=(10, 11), test=(12, 13, 14))
RATE = 16000
KEEP = ('README.md',)  # hand-written files of the output folders
# The versions the committed files were made with (Debian bookworm packages espeak-ng 1.51+dfsg-10+deb12u2, sox
# 14.4.2); other versions synthesise slightly different audio.
MADE_WITH = dict(espeak_ng='1.51', sox='14.4.2')


def espeak_version():
    out = subprocess.run(['espeak-ng', '--version'], check=True, capture_output=True, text=True).stdout
    return out.split(':')[1].split('Data')[0].strip()


def synthesise(text, voice, variant, speed, pitch, tmp):
    """espeak-ng -> sox resampling (no dither: deterministic) to 16 kHz mono 16-bit -> float samples in [-1, 1)."""
    raw, out = osp.join(tmp, 'raw.wav'), osp.join(tmp, 'out.wav')
    subprocess.run(['espeak-ng', '-v', f'{voice}+{variant}', '-s', str(speed), '-p', str(pitch), '-w', raw, text],
                   check=True)
    subprocess.run(['sox', '--no-dither', raw, '-r', str(RATE), '-c', '1', '-b', '16', out], check=True)
    with wave.open(out, 'rb') as f:
        return np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16).astype(np.float32) / 32768


def place(samples, length, offset_fraction):
    """Trim silence (|x| < 1e-3) at both ends and put the utterance into ``length`` samples, its start at
    ``offset_fraction`` of the free room (cut at the end if longer)."""
    loud = np.flatnonzero(np.abs(samples) >= 1e-3)
    speech = samples[loud[0]:loud[-1] + 1][:length] if loud.size else samples[:length]
    start = int((length - speech.size) * offset_fraction)
    clip = np.zeros(length, dtype=np.float32)
    clip[start:start + speech.size] = speech
    return clip


def write_wav(path, samples, rate=RATE):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with wave.open(path, 'wb') as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.clip(np.round(samples * 32768), -32768, 32767).astype('<i2').tobytes())


def clear(root):
    """Remove what an earlier run wrote into ``root`` (not the README)."""
    for name in os.listdir(root) if osp.isdir(root) else ():
        path = osp.join(root, name)
        if name not in KEEP:
            shutil.rmtree(path) if osp.isdir(path) else os.remove(path)


def make_commands(root, tmp):
    clear(root)
    lists = {split: [] for split in SPLITS}
    for w, word in enumerate(WORDS):
        for s, (voice, variant, speed, pitch) in enumerate(SPEAKERS):
            clip = place(synthesise(word, voice, variant, speed, pitch, tmp), RATE, ((3 * s + w) % 7 + 1) / 8)
            name = f'{word}/espk{s:02d}_nohash_0.wav'
            write_wav(osp.join(root, name), clip)
            for split, speakers in SPLITS.items():
                if s in speakers:
                    lists[split].append(name)
    for split, name in (('val', 'validation_list.txt'), ('test', 'testing_list.txt')):
        with open(osp.join(root, name), 'w') as f:
            f.write(''.join(f'{line}\n' for line in lists[split]))


def make_fixtures(root, tmp):
    clear(root)
    short = RATE // 5
    # Speech Commands V2 layout: 2 words x 3 speakers (train, val, test) + a background-noise folder
    sc = osp.join(root, 'speech_commands_v2')
    for word in ('no', 'yes'):
        for s in (0, 10, 12):
            voice, variant, speed, pitch = SPEAKERS[s]
            write_wav(osp.join(sc, word, f'espk{s:02d}_nohash_0.wav'),
                      place(synthesise(word, voice, variant, 2 * speed, pitch, tmp), short, 0.5))
    write_wav(osp.join(sc, '_background_noise_', 'hum.wav'),
              0.05 * np.sin(2 * np.pi * 50 * np.arange(short) / RATE).astype(np.float32))
    with open(osp.join(sc, 'validation_list.txt'), 'w') as f:
        f.write('no/espk10_nohash_0.wav\nyes/espk10_nohash_0.wav\n')
    with open(osp.join(sc, 'testing_list.txt'), 'w') as f:
        f.write('no/espk12_nohash_0.wav\nyes/espk12_nohash_0.wav\n')
    # AudioSet layout: AST's json data file (relative paths) + class_labels_indices.csv, multi-label
    audioset = osp.join(root, 'audioset')
    classes = (('/m/09x0r', 'Speech'), ('/m/05zppz', 'Male speech, man speaking'),
               ('/m/02zsn', 'Female speech, woman speaking'))
    os.makedirs(audioset, exist_ok=True)
    with open(osp.join(audioset, 'class_labels_indices.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['index', 'mid', 'display_name'])
        writer.writerows((i, mid, name) for i, (mid, name) in enumerate(classes))
    items = []
    for i, (word, s, labels) in enumerate((('go', 0, '/m/09x0r,/m/05zppz'), ('stop', 1, '/m/09x0r,/m/02zsn'),
                                           ('up', 2, '/m/09x0r'))):
        voice, variant, speed, pitch = SPEAKERS[s]
        name = f'audio/clip{i}.wav'
        write_wav(osp.join(audioset, name), place(synthesise(word, voice, variant, 2 * speed, pitch, tmp), short,
                                                  0.5))
        items.append(dict(wav=name, labels=labels))
    with open(osp.join(audioset, 'eval_data.json'), 'w') as f:
        json.dump(dict(data=items), f, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/espeak_commands')
    parser.add_argument('--fixtures', default='tests/data/audio')
    args = parser.parse_args()
    version = espeak_version()
    print(f'espeak-ng {version}' + ('' if version == MADE_WITH['espeak_ng'] else
                                    f' (the committed data was made with {MADE_WITH["espeak_ng"]})'))
    with tempfile.TemporaryDirectory() as tmp:
        make_commands(args.out, tmp)
        make_fixtures(args.fixtures, tmp)


if __name__ == '__main__':
    main()
