"""Shared test helpers.

The tools, configs and fixtures use paths relative to the repository root (OpenMMLab's convention: tools are run
from the root), so the suite changes into the root before it collects anything; it then gives the same result
from any working directory (``pytest /path/to/largekernel/tests``).
"""
import os
import json
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MANIFESTS = osp.join(ROOT, 'tests', 'data', 'official_manifests')  # key -> shape of official checkpoints


def pytest_configure(config):
    os.chdir(ROOT)


@pytest.fixture(scope='module')
def single_thread():
    """One torch thread for a test module (``pytestmark = pytest.mark.usefixtures('single_thread')``): small CPU
    convolutions run fastest that way on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _autograd_left_enabled():
    """A test that switches autograd off globally (``torch.set_grad_enabled(False)`` without restoring it) breaks
    every gradient test after it: fail that test instead, and restore the mode."""
    yield
    if not torch.is_grad_enabled():
        torch.set_grad_enabled(True)
        pytest.fail('this test left autograd disabled (torch.set_grad_enabled(False) was not restored)')


def manifest(name):
    with open(osp.join(MANIFESTS, f'{name}.json')) as f:
        return json.load(f)


def official_checkpoint(name, device='meta', seed=0):
    """A checkpoint with the official keys and shapes of manifest ``name``: meta tensors, or random values on CPU
    (positive BN variances, integer batch counters)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in manifest(name)['keys'].items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.zeros(shape, dtype=torch.long, device=device)
        elif device == 'meta':
            state[key] = torch.empty(shape, device='meta')
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.1
    return {'model': state, 'epoch': 299}
