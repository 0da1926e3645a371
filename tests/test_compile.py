"""``torch.compile`` (inductor, CPU) of every family: the training and deploy forms compile to one graph each
(``fullgraph=True``) with eager's outputs; the training form with eager's gradients and BatchNorm statistics; and
mmengine's ``compile=True`` trains through tools/train.py.

Inductor needs tens of seconds per graph on a small CPU machine, so the default run compiles the forward forms of
SLaK (re-parameterised kernels) and the backward of ConvNeStIsotropic; the rest is marked slow.
"""
import copy
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from test_backbone_api import BACKBONES, perturb, rel_err

pytestmark = pytest.mark.usefixtures('single_thread')
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def families(default):
    return [name if name == default else pytest.param(name, marks=pytest.mark.slow) for name in BACKBONES]


def build(name):
    cls, arch, extra = BACKBONES[name]
    torch.manual_seed(0)
    return perturb(cls(arch, **extra))  # drop_path_rate=0: eager and compiled runs see the same network


def images(n=2, size=32):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(1))


def compiled(model):
    torch._dynamo.reset()
    return torch.compile(model, fullgraph=True, dynamic=False)


def flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


@pytest.mark.parametrize('name', families('SLaK'))
def test_training_and_deploy_forms_compile_to_eager_outputs(name):
    model = build(name).eval()
    x = images()
    for _ in ('training', 'deploy'):
        with torch.no_grad():
            expected, outputs = model(x), compiled(model)(x)
        assert len(outputs) == len(expected)
        assert all(rel_err(o, e) < 1e-4 for o, e in zip(outputs, expected))
        model.switch_to_deploy()


@pytest.mark.parametrize('name', families('ConvNeStIsotropic'))
def test_training_form_backward_compiles_to_eager_gradients(name):
    eager = build(name).train()
    model, reference = copy.deepcopy(eager), copy.deepcopy(eager).double()
    x = images(n=4)
    losses = []
    for net, dtype in ((eager, torch.float32), (compiled(model), torch.float32), (reference, torch.float64)):
        out = net(x.to(dtype))[-1]
        out.square().mean().backward()
        losses.append(out.detach().double())
    assert rel_err(losses[1], losses[0]) < 1e-4
    grads = [flat([p.grad.double() for p in m.parameters() if p.requires_grad]) for m in (eager, model, reference)]
    # against float64, over all parameters at once (single gradients that are zero in exact arithmetic, a bias before
    # a BatchNorm, are rounding noise). The BatchNorm chains of the small test archs amplify float32 rounding:
    # for RepLKNet the error is 3e-5 in eager mode and 3e-4 compiled (its stem gradients are off by ~1%).
    eager_error, compiled_error = rel_err(grads[0], grads[2]), rel_err(grads[1], grads[2])
    assert compiled_error < 1e-3, (compiled_error, eager_error)
    buffers = [[b for n, b in m.named_buffers() if 'running' in n] for m in (eager, model)]
    assert all(torch.allclose(b, a, rtol=1e-4, atol=1e-6) for a, b in zip(*buffers))  # BN statistics updated alike


@pytest.mark.slow
def test_mmengine_compile_option_trains_as_eager(tmp_path):
    """``compile = True`` in a config (tools/train.py compiles the model's forward): two iterations of the quick-start
    model (no drop path, fixed seed) log the losses of the eager run."""
    losses = {}
    for compile_model in (False, True):
        config = tmp_path / f'tiny_compile_{compile_model}.py'
        config.write_text(f"""_base_ = '{ROOT}/configs/unireplknet/unireplknet-mini_1xb64_fashion-mnist.py'
model = dict(backbone=dict(drop_path_rate=0.0))
train_dataloader = dict(batch_size=32, dataset=dict(indices=64))
train_cfg = dict(max_epochs=1)
val_cfg = None
val_dataloader = None
val_evaluator = None
param_scheduler = []
randomness = dict(seed=0)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, save_best=None))
compile = {compile_model}
""")
        work_dir = tmp_path / f'work_{compile_model}'
        result = subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir', str(work_dir)],
                                cwd=ROOT, env={**os.environ, 'OMP_NUM_THREADS': '1'}, capture_output=True, text=True,
                                timeout=1200)
        log = result.stdout + result.stderr
        assert result.returncode == 0, log[-4000:]
        assert ('Model forward compiled with torch.compile' in log) == compile_model
        losses[compile_model] = [float(v) for v in re.findall(r'Epoch\(train\) \[1\]\[\d/2\].* loss: ([\d.]+)', log)]
        assert osp.isfile(work_dir / 'epoch_1.pth')
    assert len(losses[True]) == 2 and losses[True] == pytest.approx(losses[False], abs=2e-4)
