"""The command-line tools on the committed Fashion-MNIST subset: train, resume after SIGKILL, CPU DDP,
re-parameterise, test, get_flops, and the errors they give for bad input."""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from largekernel.utils.model_index import get_model

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
QS_CONFIG = osp.join(ROOT, 'configs/unireplknet/unireplknet-mini_1xb64_fashion-mnist.py')
QS_DEPLOY = osp.join(ROOT, 'configs/unireplknet/deploy/unireplknet-mini-deploy_1xb64_fashion-mnist.py')
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))


def tiny_config(tmp_path, name='tiny.py', epochs=2, train_items=128, extra=''):
    """The quick-start config on a few real images: 2 iterations per epoch, 100 held-out images."""
    path = tmp_path / name
    path.write_text(f"""_base_ = '{QS_CONFIG}'
train_dataloader = dict(batch_size=64, dataset=dict(indices={train_items}))
val_dataloader = dict(dataset=dict(indices=100), batch_size=100)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={epochs})
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=0, end={epochs},
                        convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=5, save_best=None))
{extra}
""")
    return str(path)


def run_tool(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, **kwargs)


def final_weights(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return torch.load(f.read().strip(), map_location='cpu', weights_only=False)['state_dict']


def test_resume_after_sigkill_reproduces_uninterrupted_run(tmp_path):
    config = tiny_config(tmp_path, epochs=3)
    full, broken = str(tmp_path / 'full'), str(tmp_path / 'broken')
    result = run_tool('tools/train.py', config, '--work-dir', full)
    assert result.returncode == 0, result.stderr[-3000:]

    proc = subprocess.Popen([sys.executable, 'tools/train.py', config, '--work-dir', broken], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in proc.stdout:  # kill in the middle of epoch 2, after its first iteration
        seen.append(line)
        if re.search(r'Epoch\(train\)\s+\[2\]\[1/2\]', line):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, ''.join(seen[-20:])
    assert osp.exists(osp.join(broken, 'epoch_1.pth')) and not osp.exists(osp.join(broken, 'epoch_2.pth'))

    result = run_tool('tools/train.py', config, '--work-dir', broken, '--resume')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'resumed' in (result.stdout + result.stderr).lower()
    expected, resumed = final_weights(full), final_weights(broken)
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert torch.equal(expected[key], resumed[key]), key


def test_dist_train_two_cpu_processes_end_with_identical_weights(tmp_path):
    probe = tmp_path / 'rank_probe.py'
    probe.write_text('''
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

@HOOKS.register_module()
class RankWeightsProbe(Hook):
    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        weights = {k: v.detach() for k, v in model.named_parameters()}
        torch.save(weights, f'{runner.work_dir}/rank{get_rank()}.pth')
''')
    config = tiny_config(tmp_path, epochs=1, extra="""
custom_imports = dict(imports=['rank_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='largekernel.EpochSeedHook'), dict(type='RankWeightsProbe')]
randomness = dict(seed=0, diff_rank_seed=True)
""")
    work_dir = str(tmp_path / 'ddp')
    env = dict(PYTHON=sys.executable, PORT='29613', OMP_NUM_THREADS='1',
               PYTHONPATH=f'{tmp_path}{os.pathsep}{os.environ.get("PYTHONPATH", "")}')
    result = subprocess.run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir], cwd=ROOT,
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    log = result.stdout + result.stderr
    assert re.search(r'Distributed training: True', log) and re.search(r'GPU number: 2', log)  # 2 gloo ranks
    rank0 = torch.load(osp.join(work_dir, 'rank0.pth'), weights_only=False)
    rank1 = torch.load(osp.join(work_dir, 'rank1.pth'), weights_only=False)
    start = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=False)['state_dict']
    # parameters are all-reduced, so they agree exactly; BN running statistics stay per rank (plain BN with
    # mmengine's broadcast_buffers=False, as the official recipes run DDP)
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    assert torch.equal(rank0['head.fc.weight'], start['head.fc.weight'])

    # the same launcher evaluates: each rank scores half of the held-out images, rank 0 reports the whole
    result = subprocess.run(['bash', 'tools/dist_test.sh', config, osp.join(work_dir, 'epoch_1.pth'), '2',
                             '--work-dir', str(tmp_path / 'ddp_test')], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert re.search(r'Epoch\(test\) \[\d+/\d+\]\s+accuracy/top1: \d+\.\d+', result.stdout + result.stderr)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One short real training run shared by the tests below."""
    tmp_path = tmp_path_factory.mktemp('trained')
    config = tiny_config(tmp_path, epochs=1, train_items=256)
    result = run_tool('tools/train.py', config, '--work-dir', str(tmp_path / 'work'))
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / 'work' / 'last_checkpoint') as f:
        return config, f.read().strip(), tmp_path


def test_reparameterized_checkpoint_gives_the_same_predictions(trained):
    import pickle

    import reparameterize
    import test as test_tool
    config, checkpoint, tmp_path = trained
    deploy_checkpoint = str(tmp_path / 'deploy.pth')
    reparameterize.main([config, checkpoint, deploy_checkpoint])
    deploy_config = tmp_path / 'tiny_deploy.py'
    deploy_config.write_text(f"_base_ = '{config}'\nmodel = dict(backbone=dict(deploy=True))\n")
    outs = {}
    for form, cfg, ckpt in (('train', config, checkpoint), ('deploy', str(deploy_config), deploy_checkpoint)):
        out = str(tmp_path / f'{form}.pkl')
        metrics = test_tool.main([cfg, ckpt, '--work-dir', str(tmp_path / form), '--out', out])
        with open(out, 'rb') as f:
            outs[form] = (metrics['accuracy/top1'], pickle.load(f))
    assert outs['train'][0] == outs['deploy'][0]
    for a, b in zip(outs['train'][1], outs['deploy'][1]):
        assert torch.allclose(a['pred_score'], b['pred_score'], atol=1e-5)
    with pytest.raises(ValueError, match='already builds the deploy form'):
        reparameterize.main([str(deploy_config), deploy_checkpoint, str(tmp_path / 'again.pth')])


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks CPU (bf16) autocast')
def test_amp_inference_runs_bf16_on_cpu_and_stays_close_to_fp32(trained, monkeypatch):
    import pickle

    import test as test_tool
    from mmengine.runner import amp as mmengine_amp
    config, checkpoint, tmp_path = trained
    dtypes, original = [], mmengine_amp.autocast

    def recording_autocast(*args, **kwargs):  # what tools/test.py --amp asks mmengine's test loop for
        dtypes.append((kwargs.get('enabled', True), kwargs.get('dtype')))
        return original(*args, **kwargs)
    monkeypatch.setattr('mmengine.runner.loops.autocast', recording_autocast)
    outs = {}
    for name, extra in (('fp32', []), ('amp', ['--amp'])):
        out = str(tmp_path / f'{name}.pkl')
        metrics = test_tool.main([config, checkpoint, '--work-dir', str(tmp_path / name), '--out', out, *extra])
        with open(out, 'rb') as f:
            outs[name] = (metrics['accuracy/top1'], torch.stack([r['pred_score'] for r in pickle.load(f)]))
    assert {enabled for enabled, _ in dtypes} == {False, True}
    (top1_fp32, fp32), (top1_amp, amp) = outs['fp32'], outs['amp']
    assert not torch.equal(fp32, amp)  # bf16 arithmetic ran
    assert (fp32 - amp).abs().max() < 0.05 and abs(top1_fp32 - top1_amp) <= 2.0


def test_get_flops_reports_both_forms():
    import get_flops
    rows = get_flops.main([osp.join(ROOT, 'configs/unireplknet/unireplknet-a_8xb128-accum4_in1k.py')])
    (train_form, _, train_params, _), (deploy_form, scope, params, macs) = rows
    assert (train_form, deploy_form, scope) == ('training', 'deploy', 'model')
    published = get_model('unireplknet-a_8xb128-accum4_in1k')
    assert params == pytest.approx(published.target('Parameters'), rel=3e-3)
    assert macs == pytest.approx(published.target('FLOPs'), rel=2e-2)
    assert train_params > params


def test_get_flops_reports_sparse_counts_of_sparse_recipes():
    import get_flops
    rows = get_flops.main([osp.join(ROOT, 'configs/slak/slak-t_8xb128-accum4_in1k.py')])
    forms = {form: (params, macs) for form, _, params, macs in rows}
    published = get_model('slak-t_8xb128-accum4_in1k')
    assert forms['training'][0] == pytest.approx(published.target('Dense Parameters'), rel=3e-3)
    assert forms['sparse@0.60'][0] / 1e6 == pytest.approx(published.params / 1e6, abs=0.5)  # at 40% sparsity


def test_missing_dataset_path_is_named(tmp_path):
    config = tiny_config(tmp_path, extra="train_dataloader = dict(dataset=dict(data_root='data/nowhere'))")
    result = run_tool('tools/train.py', config, '--work-dir', str(tmp_path / 'w'))
    assert result.returncode != 0
    assert 'data/nowhere' in result.stderr


def test_unknown_arch_in_config_is_named(tmp_path):
    config = tiny_config(tmp_path, extra="model = dict(backbone=dict(arch='Q'))")
    result = run_tool('tools/train.py', config, '--work-dir', str(tmp_path / 'w'))
    assert result.returncode != 0
    assert "unknown arch 'Q'" in result.stderr


def test_checkpoint_of_another_architecture_is_refused(trained):
    config, checkpoint, tmp_path = trained
    other = tiny_config(tmp_path, name='other.py', extra="model = dict(backbone=dict(arch=dict(depths=(1, 1, 1, 1), "
                        "dims=(16, 32, 64, 128), kernel_sizes=((3,), (7,), (7,), (3,)))), head=dict(in_channels=128))")
    result = run_tool('tools/test.py', other, checkpoint, '--work-dir', str(tmp_path / 'other'))
    assert result.returncode != 0
    assert 'size mismatch' in result.stderr or 'does not match' in result.stderr


def test_missing_checkpoint_and_config_are_named(tmp_path):
    result = run_tool('tools/test.py', QS_CONFIG, str(tmp_path / 'nope.pth'))
    assert result.returncode != 0 and 'nope.pth does not exist' in result.stderr
    result = run_tool('tools/train.py', str(tmp_path / 'nope.py'))
    assert result.returncode != 0 and 'nope.py does not exist' in result.stderr


@pytest.mark.slow
def test_quickstart_reaches_85_percent_and_deploy_matches(tmp_path):
    import quickstart
    start = time.time()
    top1 = quickstart.main(['--work-dir', str(tmp_path / 'qs')])
    assert top1['training'] >= 85.0 and abs(top1['training'] - top1['deploy']) <= 0.1
    assert time.time() - start < 15 * 60


# -- tools/analysis_tools/benchmark_drb.py (UniRepLKNet Table 18 protocol) -----------------------------------------
def _load_tool(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_saved_activation_bytes_counts_what_backward_keeps():
    drb = _load_tool('benchmark_drb')
    linear = torch.nn.Linear(4, 3)
    # a linear layer keeps its input (for the weight gradient), not its weight: 2 x 4 float32 values
    assert drb.saved_activation_bytes(linear, torch.randn(2, 4)) == 2 * 4 * 4
    relu = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    assert drb.saved_activation_bytes(relu, torch.randn(2, 4)) == 2 * 4 * 4 + 2 * 3 * 4  # + the ReLU output


def test_benchmark_drb_compares_the_block_with_a_single_conv():
    rows = _load_tool('benchmark_drb').main(['--arch', 'A', '--batch-size', '2', '--shape', '32', '32',
                                             '--iters', '1', '--warmup', '0', '--device', 'cpu'])
    assert [r['block'] for r in rows] == ['Dilated Reparam Block', 'single large-kernel conv + BN']
    assert rows[0]['saved_bytes'] > rows[1]['saved_bytes'] > 0  # the DRB's branches keep more for backward
    assert all(r['images_per_s'] > 0 and r['peak_bytes'] is None for r in rows)
