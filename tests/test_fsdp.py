"""FSDP training (configs/_base_/strategies/fsdp.py, largekernel.engine.fsdp): the config switch trains over two
CPU processes (gloo) into a full checkpoint, and the sparse-training hooks refuse it."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from largekernel.engine.fsdp import check_not_fsdp, fsdp_on_cpu
from largekernel.utils import build_model_from_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MINI = osp.join(ROOT, 'configs', 'unireplknet', 'unireplknet-mini_1xb64_fashion-mnist.py')
FSDP = osp.join(ROOT, 'configs', '_base_', 'strategies', 'fsdp.py')


def test_fsdp_on_cpu_points_the_strategy_at_the_cpu(monkeypatch):
    cfg = Config.fromfile(FSDP)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert fsdp_on_cpu(Config.fromfile(FSDP)).strategy == cfg.strategy  # a GPU: the config as written
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    strategy = fsdp_on_cpu(Config.fromfile(FSDP)).strategy
    assert strategy.model_wrapper.device_id == 'cpu'
    assert strategy.state_dict_cfg.state_dict_config == dict(type='FullStateDictConfig', offload_to_cpu=False,
                                                             rank0_only=False)
    assert strategy.state_dict_cfg.optim_state_dict_config.offload_to_cpu is False
    assert fsdp_on_cpu(Config(dict(model=dict(type='X')))).to_dict() == dict(model=dict(type='X'))  # no strategy


REFUSAL = '''
import os, sys, types
import torch, torch.distributed as dist
from torch.distributed.fsdp import FullyShardedDataParallel
os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=sys.argv[1])
dist.init_process_group('gloo', rank=0, world_size=1)
from largekernel.engine import DynamicSparseHook, KeepSparsityHook
model = FullyShardedDataParallel(torch.nn.Sequential(torch.nn.Linear(4, 4)), device_id=torch.device('cpu'))
for hook in (DynamicSparseHook(sparsity=0.5), KeepSparsityHook()):
    try:
        hook.before_train(types.SimpleNamespace(model=model, hooks=[]))
    except RuntimeError as err:
        print('REFUSED', err)
dist.destroy_process_group()
'''


def test_sparse_hooks_refuse_fsdp():
    result = subprocess.run([sys.executable, '-c', REFUSAL, '29631'], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    refusals = [line for line in result.stdout.splitlines() if line.startswith('REFUSED')]
    assert result.returncode == 0 and len(refusals) == 2, result.stderr[-2000:]
    assert 'DynamicSparseHook does not support FSDPStrategy' in refusals[0]
    assert 'KeepSparsityHook does not support FSDPStrategy' in refusals[1]
    check_not_fsdp(torch.nn.Linear(2, 2), 'DynamicSparseHook')  # a plain model passes


@pytest.mark.slow
def test_fsdp_config_switch_trains_on_two_cpu_processes(tmp_path):
    config = tmp_path / 'mini_fsdp.py'
    config.write_text(f"_base_ = [{MINI!r}, {FSDP!r}]\ntrain_cfg = dict(max_epochs=1)\nparam_scheduler = []\n")
    work = tmp_path / 'work'
    env = dict(os.environ, PORT='29632', PYTHON=sys.executable)
    result = subprocess.run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=900)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert log.count('FSDP.state_dict_type() and FSDP.set_state_dict_type()') == 2  # both ranks wrapped in FSDP
    accuracy = float(re.findall(r'Epoch\(val\) \[1\]\S* +accuracy/top1: ([\d.]+)', log)[-1])
    assert accuracy > 50  # 10 classes: chance is 10 %
    checkpoint = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=False)
    model = build_model_from_config(Config.fromfile(MINI))
    model.load_state_dict(checkpoint['state_dict'], strict=True)  # the full state dict, plain keys
