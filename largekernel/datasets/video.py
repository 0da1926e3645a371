"""Video clips for UniRepLKNet's video recognition (UniRepLKNet §3.3, Table 9).

The data come through mmaction2's own stack: ``VideoDataset`` (the Kinetics-400 list layout, one
``relative/path.mp4 label`` line per video), ``OpenCVInit`` / ``OpenCVDecode``, its spatial transforms,
``FormatShape('NCTHW')`` and ``PackActionInputs``. What it lacks is a stated policy for clips shorter than the
sampling needs; ``SampleClipFrames`` adds it.
"""
from mmaction.datasets.transforms import SampleFrames

from ..registry import TRANSFORMS

SHORT_CLIP_POLICIES = ('repeat_last', 'loop', 'error')


@TRANSFORMS.register_module()
class SampleClipFrames(SampleFrames):
    """mmaction2's ``SampleFrames`` with an explicit policy for too-short videos.

    One clip of ``clip_len`` frames ``frame_interval`` apart spans ``(clip_len - 1) * frame_interval + 1`` frames
    (61 for the paper's 16 x 4). A video with fewer frames is

    - ``'repeat_last'`` (default): sampled at the same stride as far as the video reaches; the last sampled frame
      then repeats to fill the clip (20 frames, 16 x 4: frames 0, 4, 8, 12, 16, then 16 eleven more times). The
      official video code (VideoMAE v2's loader) repairs short Kinetics videos the same way, padding with the
      video's final frame.
    - ``'loop'``: sampled at the same stride, wrapping around to the first frame (mmaction2's default).
    - ``'error'``: refused with a ValueError naming the video, its length and the length needed.

    A video with no decodable frame is always refused. Other arguments: see ``SampleFrames``
    (``out_of_bound_opt`` is set by ``short_clip``).
    """

    def __init__(self, clip_len, *, frame_interval=1, num_clips=1, short_clip='repeat_last', **kwargs):
        if short_clip not in SHORT_CLIP_POLICIES:
            raise ValueError(f'SampleClipFrames: unknown short_clip {short_clip!r}; valid: {SHORT_CLIP_POLICIES}')
        if 'out_of_bound_opt' in kwargs:
            raise ValueError('SampleClipFrames: set short_clip instead of out_of_bound_opt')
        super().__init__(clip_len, frame_interval=frame_interval, num_clips=num_clips,
                         out_of_bound_opt='loop' if short_clip == 'loop' else 'repeat_last', **kwargs)
        self.short_clip = short_clip

    @property
    def span(self):
        """Frames one clip covers."""
        return (self.clip_len - 1) * self.frame_interval + 1

    def transform(self, results):
        total = results['total_frames']
        name = results.get('filename', '<video>')
        if total < 1:
            raise ValueError(f'{name}: the video has total_frames={total}; nothing to sample (unreadable or empty?)')
        if total < self.span and self.short_clip == 'error':
            raise ValueError(f'{name}: the video has {total} frames; a clip of clip_len={self.clip_len} frames '
                             f'frame_interval={self.frame_interval} apart needs at least {self.span} '
                             "(short_clip='repeat_last' or 'loop' pads it instead)")
        return super().transform(results)

    def __repr__(self):
        return super().__repr__()[:-1] + f', short_clip={self.short_clip!r})'
