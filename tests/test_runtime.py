"""The runtime fixes installed by ``import largekernel`` and the scoped registries."""
import os
import pickle
import shutil

import pytest
import torch
from torch import nn

import largekernel  # noqa: F401


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_local_scheme_loads_runner_checkpoints_safely(tmp_path):
    """torch >= 2.6 defaults to weights_only=True, which rejects mmengine's pickled HistoryBuffer; the patched local
    scheme allows it (and what else Runner checkpoints need) and nothing more, for mmengine's own loaders too."""
    from mmengine.logging import MessageHub
    from mmengine.runner.checkpoint import CheckpointLoader, load_checkpoint
    from largekernel.utils.checkpoint import UnsafeCheckpointError
    hub = MessageHub.get_instance('test_local_scheme_loads_runner_checkpoints_safely')
    hub.update_scalar('train/loss', 1.5)
    path = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'weight': torch.ones(2, 3), 'bias': torch.zeros(2)}, 'message_hub': hub.state_dict()},
               path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # what mmengine 0.10.7 does without the fix
    loaded = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(loaded['state_dict']['weight'], torch.ones(2, 3))
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'missing.pth'))
    evil, marker = tmp_path / 'evil.pth', tmp_path / 'PWNED'
    torch.save({'state_dict': {'weight': Payload(marker)}}, evil)
    with pytest.raises(UnsafeCheckpointError, match=f'{evil} was refused: it needs the global posix.system'):
        load_checkpoint(nn.Linear(3, 2), str(evil))  # mmengine's load_checkpoint (and init_cfg Pretrained)
    assert not marker.exists()


def test_url_schemes_load_downloads_safely(tmp_path, monkeypatch):
    """mmengine's http(s):// (and torchvision://, open-mmlab://) loader unpickles downloads fully; patched, a download
    lands in torch's hub cache as before and is read safely."""
    from mmengine.runner.checkpoint import CheckpointLoader
    from largekernel.utils.checkpoint import UnsafeCheckpointError
    served = tmp_path / 'served'
    served.mkdir()
    torch.save({'state_dict': {'weight': torch.ones(2)}}, served / 'good.pth')
    torch.save({'state_dict': {'weight': Payload(tmp_path / 'PWNED')}}, served / 'evil.pth')
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file',
                        lambda url, dst, progress=True: shutil.copy(served / url.rsplit('/', 1)[1], dst))
    loaded = CheckpointLoader.load_checkpoint('https://example.org/models/good.pth', map_location='cpu')
    assert torch.equal(loaded['state_dict']['weight'], torch.ones(2))
    assert (tmp_path / 'hub' / 'checkpoints' / 'good.pth').is_file()
    with pytest.raises(UnsafeCheckpointError, match=r'hub/checkpoints/evil.pth was refused'):
        CheckpointLoader.load_checkpoint('https://example.org/models/evil.pth')
    assert not (tmp_path / 'PWNED').exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason='the fallback is for machines without a GPU')
def test_amp_without_gpu_trains_under_cpu_bf16_autocast():
    from mmengine.optim import AmpOptimWrapper, build_optim_wrapper
    model = nn.Linear(3, 2)
    cfg = dict(type='AmpOptimWrapper', loss_scale='dynamic', optimizer=dict(type='SGD', lr=0.1))
    with pytest.warns(UserWarning, match='CPU autocast in bfloat16'):
        wrapper = build_optim_wrapper(model, cfg)
    assert type(wrapper).__name__ == 'CPUAutocastOptimWrapper'
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.ones(4, 3))
    assert out.dtype == torch.bfloat16 and model.weight.dtype == torch.float32  # fp32 master weights
    wrapper.update_params(out.float().sum())
    assert model.weight.grad is None and not torch.equal(model.weight, before)  # stepped, then zeroed
    assert model(torch.ones(1, 3)).dtype == torch.float32  # autocast only inside the context
    with pytest.raises(ValueError, match=r"dtype='float16'\) needs a GPU.*dtype='bfloat16'"):
        build_optim_wrapper(model, dict(cfg, dtype='float16'))
    unpatched = object.__new__(AmpOptimWrapper)  # without the fix, mmengine's constructor asserts a GPU
    with pytest.raises(AssertionError):
        AmpOptimWrapper.__init__(unpatched, loss_scale='dynamic', optimizer=torch.optim.SGD(model.parameters(), 0.1))


_DDP_ON_CPU = """
import os
import torch, torch.distributed as dist
from torch import nn
import largekernel  # noqa: F401 (the patches under test)
from mmengine.dist import init_dist
from mmengine.model import MMDistributedDataParallel
init_dist('pytorch', backend='nccl')
assert dist.get_backend() == 'gloo', dist.get_backend()
model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SyncBatchNorm(4))
ddp = MMDistributedDataParallel(module=model, device_ids=[0])
assert not any(isinstance(m, nn.SyncBatchNorm) for m in ddp.modules())
ddp(torch.randn(2, 3, 8, 8)).sum().backward()
assert all(p.grad is not None for p in ddp.parameters())
print('ddp-ok', flush=True)
os._exit(0)  # torch 2.13 can hang joining gloo's threads when the Reducer outlives the process group
"""


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
def test_pytorch_launcher_runs_ddp_on_cpu(tmp_path):
    """``init_dist('pytorch')`` and the DDP wrapper work without CUDA; SyncBN becomes BN. In a fresh process: a
    process group in the test process would outlive the test."""
    import socket
    import subprocess
    import sys
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    result = subprocess.run([sys.executable, '-c', _DDP_ON_CPU], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and 'ddp-ok' in result.stdout, result.stdout[-2000:] + result.stderr[-3000:]


def test_mmaction_models_import_without_the_missing_drn_package():
    """mmaction2 1.2.0's wheel lacks ``localizers/drn``; after ``import largekernel`` its models import and build."""
    import subprocess
    import sys
    code = ('import largekernel, mmaction.models\n'
            'from mmaction.registry import MODELS\n'
            'print(type(MODELS.build(dict(type="ActionDataPreprocessor"))).__name__)\n'
            'try:\n    from mmaction.models.localizers.drn.drn import DRN; DRN()\nexcept ImportError as e: print(e)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'ActionDataPreprocessor' in result.stdout
    import mmaction
    if not os.path.isdir(os.path.join(os.path.dirname(mmaction.__file__), 'models', 'localizers', 'drn')):
        assert 'issue #2714' in result.stdout


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg', 'mmdet3d', 'mmaction'])
def test_scoped_name_builds_from_every_toolbox(scope):
    import importlib
    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(dict(type='largekernel.UniRepLKNet', arch='A', out_indices=(0, 1, 2, 3)))
    assert type(model).__name__ == 'UniRepLKNet'
    assert len(model(torch.randn(1, 3, 64, 64))) == 4


def test_layer_decay_groups_follow_the_convnext_mapping():
    from mmengine.optim import build_optim_wrapper
    from largekernel.models import UniRepLKNet
    model = nn.Module()
    model.backbone = UniRepLKNet('S', gap_before_final_norm=True)
    model.head = nn.Linear(768, 1000)
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
        constructor='largekernel.LayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=0.8, num_layers=12)))
    group_of = {id(p): g for g in wrapper.optimizer.param_groups for p in g['params']}

    def lr(param):
        return group_of[id(param)]['lr']
    b = model.backbone
    assert lr(b.downsample_layers[0][0].weight) == pytest.approx(0.8 ** 13)
    assert lr(b.stages[0][0].pwconv1.weight) == pytest.approx(0.8 ** 12)
    assert lr(b.downsample_layers[2][0].weight) == pytest.approx(0.8 ** 10)
    assert lr(b.stages[2][26].pwconv1.weight) == pytest.approx(0.8 ** 2)  # 3 + 26 // 3 = 11
    assert lr(b.stages[3][0].pwconv1.weight) == pytest.approx(0.8)
    assert lr(b.norm3.weight) == lr(model.head.weight) == 1.0
    assert group_of[id(b.stages[0][0].pwconv1.bias)]['weight_decay'] == 0.0
    assert group_of[id(b.stages[0][0].gamma)]['weight_decay'] == 0.0
    assert group_of[id(b.stages[0][0].grn.gamma)]['weight_decay'] == 0.05  # 4-D, as the official code
    with pytest.raises(KeyError, match='layer_decay_rate'):
        build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1.0),
                                        constructor='largekernel.LayerDecayOptimWrapperConstructor',
                                        paramwise_cfg=dict(decay=0.8)))
