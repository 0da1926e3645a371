"""Effective receptive field: largekernel.utils.erf and tools/analysis_tools/visualize_erf.py (RepLKNet App. B)."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from conftest import ROOT
from largekernel.utils.erf import (area_ratios, contribution_scores, high_contribution_area, normalized_erf)

QS_CONFIG = osp.join(ROOT, 'configs/unireplknet/unireplknet-mini_1xb64_fashion-mnist.py')
IMAGES = osp.join(ROOT, 'tests/data/downstream/images')  # real photos (see PROVENANCE.md beside them)


def _tool():
    spec = importlib.util.spec_from_file_location('visualize_erf', osp.join(ROOT, 'tools/analysis_tools/'
                                                                                 'visualize_erf.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_erf_of_one_convolution_is_its_kernel():
    size, k, n = 33, 7, 3
    conv = nn.Conv2d(1, 1, k, padding=k // 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.rand(1, 1, k, k) + 0.1)
    images = torch.rand(n, 1, size, size) + 0.1  # positive input and kernel: the central output is positive
    scores = contribution_scores(conv, images)
    c, r = size // 2, k // 2
    expected = np.zeros((size, size))
    expected[c - r:c + r + 1, c - r:c + r + 1] = n * conv.weight[0, 0].detach().double().numpy()
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=0)


def test_area_ratio_of_a_uniform_square_follows_its_definition():
    size, k = 41, 9
    erf = np.zeros((size, size))
    erf[size // 2 - k // 2:size // 2 + k // 2 + 1, size // 2 - k // 2:size // 2 + k // 2 + 1] = 1.0
    ratios = area_ratios(erf)
    for t, (side, ratio) in ratios.items():
        smallest = next(s for s in range(1, k + 1, 2) if s * s > t * k * k)  # uniform mass: s^2 / k^2 > t
        assert side == smallest and ratio == pytest.approx(side ** 2 / size ** 2)
    assert ratios[0.99][0] == k
    with pytest.raises(ValueError, match='threshold'):
        high_contribution_area(erf, 1.5)
    with pytest.raises(ValueError, match='square'):
        high_contribution_area(np.ones((4, 5)), 0.5)
    with pytest.raises(ValueError, match='zero'):
        normalized_erf(np.zeros((5, 5)))


def test_a_pooled_output_is_refused():
    with pytest.raises(ValueError, match='gap_before_final_norm'):
        contribution_scores(nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()),
                            torch.rand(1, 1, 8, 8))


@pytest.fixture(scope='module')
def quickstart_checkpoints(tmp_path_factory):
    """The quick-start backbone's weights under two seeds, and a checkpoint of another architecture."""
    tool, folder = _tool(), tmp_path_factory.mktemp('erf_ckpt')
    paths = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        backbone, _ = tool.build_backbone(QS_CONFIG)
        paths[seed] = str(folder / f'seed{seed}.pth')
        torch.save({'state_dict': {f'backbone.{k}': v for k, v in backbone.state_dict().items()}}, paths[seed])
    from largekernel.models import UniRepLKNet
    other = UniRepLKNet(dict(depths=(1, 1, 1, 1), dims=(8, 16, 32, 64), kernel_sizes=((3,), (3,), (3,), (3,))),
                        in_channels=1)
    paths['other'] = str(folder / 'other.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in other.state_dict().items()}}, paths['other'])
    return paths


def test_tool_on_the_quickstart_model(tmp_path, quickstart_checkpoints):
    tool = _tool()
    size = 64
    results = tool.main([QS_CONFIG, quickstart_checkpoints[0], QS_CONFIG, quickstart_checkpoints[1], '--data', IMAGES,
                         '--num-images', '3', '--size', str(size), '--batch-size', '2', '--out', str(tmp_path)])
    names = list(results)
    assert len(names) == 2 and len(set(names)) == 2
    for name in names:
        scores = np.load(tmp_path / f'{name}.npy')
        assert scores.shape == (size, size) and (scores >= 0).all()
        erf = normalized_erf(scores)
        # the central output depends most on the pixels around the centre
        peak = np.unravel_index(erf.argmax(), erf.shape)
        assert max(abs(peak[0] - size // 2), abs(peak[1] - size // 2)) <= size // 4
        ratios = [results[name][t][1] for t in sorted(results[name])]
        assert ratios == sorted(ratios) and 0 < ratios[0] < ratios[-1] <= 1
        assert np.asarray(Image.open(tmp_path / f'{name}.png')).shape == (size, size, 3)
    # different weights, different ERFs; both are in the table and side by side
    assert not np.allclose(np.load(tmp_path / f'{names[0]}.npy'), np.load(tmp_path / f'{names[1]}.npy'))
    table = (tmp_path / 'erf.md').read_text()
    assert all(name in table for name in names) and 't = 99%' in table
    assert np.asarray(Image.open(tmp_path / 'erf_side_by_side.png')).shape[1] == 2 * size


def test_checkpoint_is_loaded_and_both_forms_give_the_same_erf(tmp_path, quickstart_checkpoints):
    tool = _tool()
    paths = tool.list_images(IMAGES, 2)
    backbone, cfg = tool.build_backbone(QS_CONFIG, quickstart_checkpoints[1])
    direct = torch.load(quickstart_checkpoints[1], weights_only=True)['state_dict']
    assert all(torch.equal(v, direct[f'backbone.{k}']) for k, v in backbone.state_dict().items())
    train = tool.measure(backbone, cfg, paths, 48)
    deploy = tool.measure(backbone.switch_to_deploy(), cfg, paths, 48)
    np.testing.assert_allclose(deploy, train, rtol=1e-3, atol=1e-6 * np.abs(train).max())


def test_bad_input_is_named(tmp_path, quickstart_checkpoints):
    tool = _tool()
    with pytest.raises(RuntimeError, match='other.pth'):
        tool.build_backbone(QS_CONFIG, quickstart_checkpoints['other'])
    with pytest.raises(ValueError, match='only 5 images'):
        tool.list_images(IMAGES, 50)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        tool.list_images(str(tmp_path / 'nowhere'), 1)
    with pytest.raises(ValueError, match='neither a config'):
        tool.parse_models(['a.pth'])
