"""The UniRepLKNet ImageNet configs state the official recipes (official README commands) and build their models."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from largekernel.utils import build_model_from_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG = osp.join(ROOT, 'configs/unireplknet')

# arch: (config, total batch, lr, epochs, warm-up epochs, drop path, mixup, cutmix)  -- official README commands
IN1K = {
    'A': ('unireplknet-a_8xb128-accum4_in1k.py', 4096, 4e-3, 300, 20, 0.0, 0.3, 0.3),
    'F': ('unireplknet-f_8xb128-accum4_in1k.py', 4096, 4e-3, 300, 20, 0.0, 0.3, 0.3),
    'P': ('unireplknet-p_8xb128-accum4_in1k.py', 4096, 4e-3, 300, 20, 0.1, 0.3, 0.3),
    'N': ('unireplknet-n_8xb128-accum4_in1k.py', 4096, 4e-3, 300, 20, 0.1, 0.5, 0.5),
    'T': ('unireplknet-t_8xb128-accum4_in1k.py', 4096, 4e-3, 300, 20, 0.2, 0.8, 1.0),
    'S': ('unireplknet-s_8xb64-accum8_in1k.py', 4096, 4e-3, 300, 20, 0.4, 0.8, 1.0),
}
IN22K = {  # arch: (config, total batch, lr, crop, drop path)
    'S': ('unireplknet-s_in21k-pre_8xb64-accum8_in21k.py', 4096, 4e-3, 224, 0.1),
    'B': ('unireplknet-b_in21k-pre_8xb64-accum8_in21k.py', 4096, 4e-3, 224, 0.1),
    'L': ('unireplknet-l_in21k-pre_8xb128-accum4_in21k-192px.py', 4096, 1e-3, 192, 0.1),
    'XL': ('unireplknet-xl_in21k-pre_8xb64-accum8_in21k-192px.py', 4096, 1e-3, 192, 0.2),
}
FT384 = {  # arch: (config, epochs, drop path, label smoothing, EMA)
    'S': ('unireplknet-s_in21k-pre_8xb64_in1k-384px.py', 30, 0.2, 0.1, False),
    'B': ('unireplknet-b_in21k-pre_8xb64_in1k-384px.py', 30, 0.2, 0.1, False),
    'L': ('unireplknet-l_in21k-pre_8xb64_in1k-384px.py', 20, 0.3, 0.3, True),
    'XL': ('unireplknet-xl_in21k-pre_8xb64_in1k-384px.py', 20, 0.3, 0.3, True),
}


def load(name):
    return Config.fromfile(osp.join(CFG, name))


def total_batch(cfg):
    return 8 * cfg.train_dataloader.batch_size * cfg.optim_wrapper.get('accumulative_counts', 1)


@pytest.mark.parametrize('arch', list(IN1K))
def test_in1k_recipe(arch):
    name, batch, lr, epochs, warmup, dp, mixup, cutmix = IN1K[arch]
    cfg = load(name)
    assert cfg.model.backbone.arch == arch and cfg.model.backbone.drop_path_rate == dp
    assert total_batch(cfg) == batch == cfg.auto_scale_lr.base_batch_size
    assert cfg.optim_wrapper.optimizer.lr == lr and cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.param_scheduler[0].end == warmup == cfg.param_scheduler[1].begin
    assert cfg.param_scheduler[1].eta_min == 1e-6
    assert [a.alpha for a in cfg.model.train_cfg.augments] == [mixup, cutmix]
    assert cfg.model.head.loss.label_smooth_val == 0.1


@pytest.mark.parametrize('arch', list(IN22K))
def test_in22k_pretraining_recipe(arch):
    name, batch, lr, crop, dp = IN22K[arch]
    cfg = load(name)
    assert cfg.model.head.num_classes == 21841 and cfg.train_dataloader.dataset.type == 'ImageNet21k'
    assert total_batch(cfg) == batch and cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.train_cfg.max_epochs == 90 and cfg.param_scheduler[0].end == 5
    assert cfg.train_dataloader.dataset.pipeline[1].scale == crop
    assert cfg.model.backbone.drop_path_rate == dp and cfg.val_dataloader is None


@pytest.mark.parametrize('arch', list(FT384))
def test_in22k_to_in1k_finetune_recipe(arch):
    name, epochs, dp, smoothing, ema = FT384[arch]
    cfg = load(name)
    assert total_batch(cfg) == 512 and cfg.optim_wrapper.optimizer.lr == 5e-5
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-8
    assert cfg.optim_wrapper.constructor == 'largekernel.LayerDecayOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg == dict(layer_decay_rate=0.8, num_layers=12)
    assert cfg.train_cfg.max_epochs == epochs and len(cfg.param_scheduler) == 1  # no warm-up
    assert cfg.model.backbone.drop_path_rate == dp and cfg.model.train_cfg is None  # no mixup / cutmix
    assert cfg.model.head.loss.label_smooth_val == smoothing
    assert cfg.model.head.init_cfg.std == pytest.approx(0.02 * 0.001)  # head_init_scale 0.001
    assert any(h.type == 'largekernel.StepEMAHook' for h in cfg.get('custom_hooks', [])) == ema
    assert cfg.train_dataloader.dataset.pipeline[1].scale == 384
    assert cfg.test_dataloader.dataset.pipeline[1] == dict(type='Resize', scale=384, backend='pillow',
                                                          interpolation='bicubic')


ALL = sorted(glob.glob(osp.join(CFG, 'unireplknet-*.py')) + glob.glob(osp.join(CFG, 'deploy', 'unireplknet-*.py')))
IMAGENET = [p for p in ALL if '_in1k' in p or '_in21k' in p]


@pytest.mark.parametrize('path', IMAGENET, ids=osp.basename)
def test_imagenet_config_builds(path):
    cfg = Config.fromfile(path)
    with torch.device('meta'):
        model = build_model_from_config(cfg)
    assert type(model).__name__ == 'ImageClassifier'
    assert model.backbone.deploy == ('/deploy/' in path)
    assert model.head.fc.in_features == model.backbone.channels[-1]


def test_every_config_has_a_deploy_twin():
    trainers = [p for p in ALL if '/deploy/' not in p and '_fpn_' not in p and 'upernet' not in p]
    for path in trainers:
        arch, rest = osp.basename(path).split('_', 1)
        twin = osp.join(CFG, 'deploy', f'{arch}-deploy_{rest}')
        assert osp.exists(twin), twin
        assert Config.fromfile(twin).model.backbone.deploy is True
