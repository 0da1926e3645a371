"""Video recognition (UniRepLKNet §3.3, eq. 5; Tables 9 and 11): the clip-to-map layouts against the official memory
reshape, the Kinetics-400 loader on the K400-layout fixtures (5 clips x 3 crops), the short-clip policy, the deploy
twin, the published size, bad input, and the small-data config through the Runner and tools/train.py + test.py."""
import copy
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import largekernel  # noqa: F401  (before mmaction.models: the runtime fix provides its missing drn package)
from largekernel.datasets.video import SampleClipFrames
from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.models.embedders.video import VideoAsImageBackbone, VideoEmbedder, frames_to_map
from largekernel.registry import MODELS
from largekernel.utils import build_model_from_config, count_params
from largekernel.utils.model_index import get_model

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG = osp.join(ROOT, 'configs', 'unireplknet', 'video')
K400 = 'unireplknet-s_8xb4-accum2-16x4x1-90e_kinetics400-rgb'
SMALL = osp.join(CFG, 'unireplknet-mini_1xb16-16x2x1-20e_bbb-camera-pan.py')
FIXTURES = osp.join(ROOT, 'tests', 'data', 'video', 'kinetics400')
PUBLISHED_TASK = ('Action Recognition', 'Kinetics-400', 'Top 1 Accuracy')


def load(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    return cfg


def clip(b=2, c=3, t=16, h=8, w=12, dtype=torch.float32):
    return torch.arange(b * c * t * h * w, dtype=dtype).reshape(b, c, t, h, w)


# -- the size Table 9 publishes -----------------------------------------------------------------------------------
def _count(path, deploy):
    cfg = load(path)
    cfg.model.data_preprocessor.blending = None  # mixup's Beta distribution cannot live on the meta device
    with torch.device('meta'):
        return count_params(build_model_from_config(cfg, deploy=deploy))


def test_k400_model_has_the_published_size():
    """Table 9 prints 55.5M for the video model and Table 8 the same 55.5M for the 35-class audio model, so the
    figure does not resolve the head: 1% tolerance. Our S (deploy form, 400 classes) has 55.18M; the B-width model
    the official script builds is far off (97.2M), which is why the recipe follows the paper's S."""
    entry = get_model(K400)
    assert entry.config == f'configs/unireplknet/video/{K400}.py' and entry.params_form == 'deploy'
    assert entry.metric(*PUBLISHED_TASK) is not None
    params = _count(osp.join(ROOT, entry.config), deploy=True)
    assert params == pytest.approx(entry.params, rel=0.01)
    training = _count(osp.join(ROOT, entry.config), deploy=False)
    assert training > params  # the Dilated Reparam Blocks' branches and BNs
    official = _count(osp.join(CFG, 'unireplknet-b-k11-stage4_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py'), True)
    assert official > 1.7 * entry.params


def test_k400_recipe_states_the_official_setup():
    cfg = load(osp.join(CFG, f'{K400}.py'))
    assert cfg.default_scope == 'mmaction'
    assert 8 * cfg.train_dataloader.batch_size * cfg.optim_wrapper.accumulative_counts == 64
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(4e-3 * 64 / 256)
    assert cfg.optim_wrapper.dtype == 'bfloat16' and cfg.train_cfg.max_epochs == 90
    sample = [t for t in cfg.test_dataloader.dataset.pipeline if t.type == 'largekernel.SampleClipFrames'][0]
    assert (sample.clip_len, sample.frame_interval, sample.num_clips) == (16, 4, 5)
    assert [t.crop_size for t in cfg.test_dataloader.dataset.pipeline if t.type == 'ThreeCrop'] == [224]
    assert cfg.model.backbone.embedder.layout == 'reshape'


def test_ablation_configs_swap_only_the_image_backbone():
    base = load(osp.join(CFG, f'{K400}.py'))
    for name, kernels in (('unireplknet-s-k11', 11), ('convnext-s', None), ('resnet101', None)):
        cfg = load(osp.join(CFG, 'ablations', f'{name}_8xb4-accum2-16x4x1-90e_kinetics400-rgb.py'))
        assert cfg.model.backbone.embedder == base.model.backbone.embedder
        assert cfg.test_dataloader == base.test_dataloader and cfg.train_cfg == base.train_cfg
        if kernels:
            sizes = {k for stage in cfg.model.backbone.backbone.arch.kernel_sizes for k in stage}
            assert sizes == {3, kernels}


def test_layer_decay_follows_the_official_groups():
    """The official script's default --layer_decay 0.75 over ConvNeXt's 12 groups: stem 0.75^13, stage 4 0.75,
    the head 1; through the video wrapper."""
    from largekernel.engine.optimizers import LayerDecayOptimWrapperConstructor
    cfg = load(osp.join(CFG, f'{K400}.py'))
    cfg.model.data_preprocessor.blending = None
    model = build_model_from_config(cfg)
    wrapper_cfg = dict(type='OptimWrapper', optimizer=dict(cfg.optim_wrapper.optimizer))
    constructor = LayerDecayOptimWrapperConstructor(wrapper_cfg, dict(cfg.optim_wrapper.paramwise_cfg))
    groups = constructor(model).optimizer.param_groups
    base_lr = cfg.optim_wrapper.optimizer.lr
    scale = {id(p): g['lr'] / base_lr for g in groups for p in g['params']}
    named = dict(model.named_parameters())
    assert scale[id(named['backbone.backbone.downsample_layers.0.0.weight'])] == pytest.approx(0.75 ** 13)
    assert scale[id(named['backbone.backbone.stages.3.0.pwconv1.weight'])] == pytest.approx(0.75)
    assert scale[id(named['cls_head.fc_cls.weight'])] == 1


def test_mixup_and_cutmix_act_on_the_clip_alike_for_every_frame():
    """The recipe's blending runs in the data preprocessor on (B, 3, T, H, W), before the layout: as the official
    mixup on (B, 3T, H, W), one mixing weight / one cutmix box for all frames of a clip; soft labels sum to 1."""
    from mmaction.structures import ActionDataSample
    cfg = load(osp.join(CFG, f'{K400}.py'))
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    frame = torch.rand(4, 3, 1, 16, 16) * 255
    inputs = [x.expand(3, 16, 16, 16).unsqueeze(0).clone() for x in frame]   # (1 view, C, T, H, W), frames equal
    samples = [ActionDataSample().set_gt_label(i) for i in range(4)]
    torch.manual_seed(0)
    for _ in range(4):  # several draws, mixup or cutmix each
        out = preprocessor(dict(inputs=inputs, data_samples=copy.deepcopy(samples)), training=True)
        clips = out['inputs'][:, 0]
        assert clips.shape == (4, 3, 16, 16, 16)
        assert torch.equal(clips, clips[:, :, :1].expand_as(clips))
        labels = torch.stack([d.gt_label for d in out['data_samples']])
        assert labels.shape == (4, 400) and torch.allclose(labels.sum(1), torch.ones(4))


# -- the layouts -------------------------------------------------------------------------------------------------
def test_reshape_is_the_official_memory_reshape():
    x = clip()
    b, c, t, h, w = x.shape
    out = VideoEmbedder(num_frames=16)(x)
    assert out.shape == (b, c, 4 * h, 4 * w)
    assert torch.equal(out, x.reshape(b, c, h * 4, w * 4))            # the official line
    assert torch.equal(out.flatten(), x.contiguous().flatten())        # memory order unchanged
    # each frame is a band of h / 4 map rows, top to bottom, its rows folded 4 to a map row
    for i in range(t):
        assert torch.equal(out[:, :, i * h // 4:(i + 1) * h // 4].reshape(b, c, h, w), x[:, :, i])
    # a non-contiguous clip (e.g. from an (N, T, C, H, W) decoder) gives the same map as its contiguous copy
    y = x.permute(0, 2, 1, 3, 4).contiguous().permute(0, 2, 1, 3, 4)
    assert not y.is_contiguous() and torch.equal(VideoEmbedder(num_frames=16)(y), out)


@pytest.mark.parametrize('t, grid', [(16, (4, 4)), (8, (2, 4)), (6, (3, 2))])
def test_mosaic_places_frame_t_at_tile_t(t, grid):
    x = torch.randn(2, 3, t, 5, 7)
    out = VideoEmbedder(num_frames=t, layout='mosaic', grid=None if t == 16 else grid)(x)
    rows, cols = grid
    assert out.shape == (2, 3, rows * 5, cols * 7)
    for i in range(t):
        r, col = divmod(i, cols)
        assert torch.equal(out[:, :, r * 5:(r + 1) * 5, col * 7:(col + 1) * 7], x[:, :, i])
    assert not torch.equal(out, frames_to_map(x, grid, 'reshape'))  # a genuinely different layout


def test_wrapper_pools_map_backbones_and_builds_the_mosaic_option():
    init_default_scope('mmaction')
    model = MODELS.build(dict(type='largekernel.VideoAsImageBackbone', embedder=dict(num_frames=4, layout='mosaic'),
                              backbone=dict(type='mmpretrain.ResNet', depth=18, out_indices=(3,))))
    assert model.embedder.layout == 'mosaic' and model.embedder.grid == (2, 2)
    assert model(torch.randn(2, 3, 4, 32, 32)).shape == (2, 512)


# -- the loader on the Kinetics-400 layout fixtures ----------------------------------------------------------------
def _dataset(pipeline_key, **sampling):
    from mmaction.datasets import VideoDataset
    cfg = load(osp.join(ROOT, 'configs', '_base_', 'datasets', 'video_kinetics400.py'))
    pipeline = copy.deepcopy(cfg[pipeline_key])
    for t in pipeline:
        if t['type'] == 'largekernel.SampleClipFrames':
            t.update(sampling)
    return VideoDataset(ann_file=osp.join(FIXTURES, 'kinetics400_val_list_videos.txt'),
                        data_prefix=dict(video=osp.join(FIXTURES, 'videos_val')), pipeline=pipeline,
                        test_mode=pipeline_key != 'train_pipeline')


def test_k400_list_layout_and_5x3_test_views():
    dataset = _dataset('test_pipeline')
    assert len(dataset) == 3 and [dataset.get_data_info(i)['label'] for i in range(3)] == [0, 1, 2]
    sample = dataset[0]
    assert sample['inputs'].shape == (15, 3, 16, 224, 224) and sample['inputs'].dtype == torch.uint8
    assert int(sample['data_samples'].gt_label) == 0
    # the three crops of one clip cover the left, middle and right of the resized frame (32 x 24 -> 298 x 224)
    crops = sample['inputs'][:3].float()
    assert not torch.equal(crops[0], crops[2])


def test_decoded_frames_are_the_video_frames_in_rgb():
    dataset = _dataset('test_pipeline')
    info = dataset.get_data_info(1)
    results = dataset.pipeline.transforms[0](dict(info))
    results = dataset.pipeline.transforms[1](results)
    results = dataset.pipeline.transforms[2](results)
    capture = cv2.VideoCapture(info['filename'])
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    assert results['total_frames'] == len(frames) == 64
    inds = results['frame_inds']
    assert inds.shape == (5 * 16,) and inds.max() < 64
    assert np.array_equal(inds[:16], np.arange(16) * 4)  # the first test clip starts at frame 0, stride 4
    assert np.array_equal(results['imgs'][1], frames[inds[1]][:, :, ::-1])


def test_train_and_val_pipelines_on_the_fixtures():
    train = _dataset('train_pipeline')[0]['inputs']
    assert train.shape == (1, 3, 16, 224, 224)
    val = _dataset('val_pipeline')[1]['inputs']
    assert val.shape == (1, 3, 16, 224, 224)


# -- short clips and bad input -----------------------------------------------------------------------------------
def test_short_clip_is_repaired_by_repeating_the_last_sampled_frame():
    dataset = _dataset('test_pipeline', num_clips=1)
    sample = dataset[2]  # the 20-frame fixture, shorter than one 16 x 4 clip (61 frames)
    assert sample['inputs'].shape == (3, 3, 16, 224, 224)
    frames = sample['inputs'][0, :, 4:]  # frame 16, then its eleven repeats
    assert all(torch.equal(frames[:, i], frames[:, 0]) for i in range(frames.shape[1]))
    assert not torch.equal(sample['inputs'][0, :, 3], frames[:, 0])
    results = SampleClipFrames(16, frame_interval=4).transform(dict(total_frames=20, start_index=0))
    assert results['frame_inds'].tolist() == [0, 4, 8, 12, 16] + [16] * 11
    looped = SampleClipFrames(16, frame_interval=4, short_clip='loop').transform(dict(total_frames=20,
                                                                                        start_index=0))
    assert looped['frame_inds'].tolist() == ([0, 4, 8, 12, 16] * 4)[:16]
    # exactly one span (61 frames) needs no repair
    full = SampleClipFrames(16, frame_interval=4, test_mode=True).transform(dict(total_frames=61, start_index=0))
    assert full['frame_inds'].tolist() == list(range(0, 61, 4))


def test_short_clip_error_policy_names_the_lengths():
    dataset = _dataset('test_pipeline', short_clip='error')
    assert dataset[0]['inputs'].shape[0] == 15  # 64 frames are enough
    with pytest.raises(ValueError, match=r'bbbclip-ccc.*has 20 frames.*clip_len=16.*frame_interval=4.*at least 61'):
        dataset[2]
    with pytest.raises(ValueError, match='total_frames=0'):
        SampleClipFrames(16, frame_interval=4).transform(dict(total_frames=0, start_index=0, filename='x.mp4'))
    with pytest.raises(ValueError, match="unknown short_clip 'pad'.*'repeat_last', 'loop', 'error'"):
        SampleClipFrames(16, short_clip='pad')
    with pytest.raises(ValueError, match='short_clip instead of out_of_bound_opt'):
        SampleClipFrames(16, out_of_bound_opt='loop')


def test_wrong_clip_shapes_are_named():
    embed = VideoEmbedder(num_frames=16)
    with pytest.raises(ValueError, match=r'15 frames.*num_frames=16'):
        embed(clip(t=15))
    with pytest.raises(ValueError, match=r'1 channels.*expected 3'):
        embed(clip(c=1))
    with pytest.raises(ValueError, match=r'\(B, C, T, H, W\) clip, got shape \(2, 3, 32, 32\)'):
        embed(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match='num_frames=12 is not a square number'):
        VideoEmbedder(num_frames=12)
    with pytest.raises(ValueError, match=r'grid \(3, 3\).*num_frames=12'):
        VideoEmbedder(num_frames=12, grid=(3, 3))
    with pytest.raises(ValueError, match="unknown video layout 'tile'.*'reshape', 'mosaic'"):
        VideoEmbedder(layout='tile')
    with pytest.raises(ValueError, match=r'grid \(4, 4\) holds 16 frames, the clip has 8'):
        frames_to_map(clip(t=8), (4, 4))


# -- re-parameterisation -----------------------------------------------------------------------------------------
def _perturb(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    randomize_bn_stats(model, g)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(('gamma', 'beta')) and p.dim() == 1:
                p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) + 0.5)
    return model


def test_deploy_twin_gives_the_same_scores_float64():
    cfg = load(SMALL)
    torch.manual_seed(0)
    model = _perturb(build_model_from_config(cfg).double()).eval()
    x = torch.randn(2, 3, 16, 32, 32, dtype=torch.float64)
    before = model.cls_head(model.backbone(x))
    deployed = build_model_from_config(cfg, deploy=True).double().eval()
    assert isinstance(deployed.backbone, VideoAsImageBackbone) and deployed.backbone.backbone.deploy
    from largekernel.utils.model import switch_to_deploy
    switch_to_deploy(model)
    deployed.load_state_dict(model.state_dict())
    for m in (model, deployed):
        after = m.cls_head(m.backbone(x))
        assert ((after - before).norm() / before.norm()).item() < 1e-10


def test_k400_deploy_twin_config_differs_only_in_deploy():
    base = load(osp.join(CFG, f'{K400}.py'))
    twin = load(osp.join(CFG, 'deploy', K400.replace('unireplknet-s_', 'unireplknet-s-deploy_', 1) + '.py'))
    assert twin.model.backbone.pop('deploy') is True
    assert twin.to_dict() == base.to_dict()


# -- training ----------------------------------------------------------------------------------------------------
def test_runner_smoke_two_iterations_and_a_6_view_test(tmp_path):
    from mmengine.runner import Runner
    cfg = load(SMALL)
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.dataset.indices = 4
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=10)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader.batch_size = 2
    cfg.test_dataloader.dataset.indices = 2
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    assert runner.iter == 2
    changed = [k for k, v in runner.model.state_dict().items() if not torch.equal(v, before[k])]
    assert any('stages' in k for k in changed) and any('cls_head' in k for k in changed)
    metrics = runner.test()
    assert 0 <= metrics['acc/top1'] <= 1


def test_k400_recipe_runs_through_the_runner(tmp_path):
    """The full recipe as configured (mixup / cutmix on the clip, layer-decay groups, accumulation 2, bf16 AMP,
    which runs as CPU bf16 autocast without a GPU) on the K400-layout fixtures, with a tiny UniRepLKNet and 32 px
    frames; then the 5 x 3-view test (one video per batch, 5 views per forward)."""
    from mmengine.runner import Runner
    cfg = load(osp.join(CFG, f'{K400}.py'))
    cfg.work_dir = str(tmp_path)
    cfg.model.backbone.backbone.arch = dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32),
                                            kernel_sizes=((3,), (13,), (13, 3), (11,)))
    cfg.model.cls_head.in_channels = 32
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.update(ann_file=osp.join(FIXTURES, 'kinetics400_val_list_videos.txt'),
                              data_prefix=dict(video=osp.join(FIXTURES, 'videos_val')))
        for t in loader.dataset.pipeline:
            if t.type == 'Resize':
                t.scale = (32, 32) if t.scale == (224, 224) else (-1, 32)
            if t.type == 'ThreeCrop':
                t.crop_size = 32
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=10)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2 and runner.optim_wrapper._accumulative_counts == 2
    scales = sorted({round(g['lr_scale'], 6) for g in runner.optim_wrapper.optimizer.param_groups})
    assert scales[0] == pytest.approx(0.75 ** 13, rel=1e-4) and scales[-1] == 1
    metrics = runner.test()
    assert set(metrics) >= {'acc/top1', 'acc/top5'}


@pytest.mark.slow
def test_small_data_config_trains_and_tests_far_above_chance(tmp_path):
    """The committed small data (4 balanced classes, chance 25%) through tools/train.py and tools/test.py;
    measured 81% after 20 epochs (training 3.5 minutes, the whole test about 7 minutes, on 2 CPU cores shared
    with other jobs)."""
    env = dict(PYTHONPATH=ROOT, OMP_NUM_THREADS='1', PATH='/usr/bin:/bin')
    subprocess.run([sys.executable, 'tools/train.py', SMALL, '--work-dir', str(tmp_path)], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    out = subprocess.run([sys.executable, 'tools/test.py', SMALL, str(tmp_path / 'epoch_20.pth'),
                          '--work-dir', str(tmp_path / 'test')], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    top1 = float(re.findall(r'acc/top1: ([0-9.]+)', out.stdout + out.stderr)[-1])
    assert top1 >= 0.5, top1  # twice chance
