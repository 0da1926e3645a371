"""Safe checkpoint loading: a checkpoint carrying a code-execution payload is refused, naming the file, by every
entry point (tools/train.py load_from and --resume, tools/test.py, init_cfg Pretrained, the converters and
reparameterize.py) and nothing runs; every legitimate checkpoint (Runner with optimizer, scheduler, message hub and
EMA; official layouts; converted; deploy) still loads safely; full unpickling is an explicit opt-in that warns.
And strict loading: only the out norms a dense-prediction form adds may be absent from a checkpoint."""
import argparse
import builtins
import datetime
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import largekernel  # noqa: F401
from conftest import official_checkpoint
from largekernel.models import RepLKNet, UniRepLKNet
from largekernel.utils.checkpoint import (UNSAFE_LOAD_ENV, UnsafeCheckpointError, load_checkpoint,
                                          load_state_dict_checked)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
QS_CONFIG = osp.join(ROOT, 'configs/unireplknet/unireplknet-mini_1xb64_fashion-mnist.py')
CONVERTERS = ['replknet', 'shiftwise', 'slak', 'uniconvnet', 'unireplknet']
SMALL_REPLK = dict(large_kernel_sizes=(9, 7, 7, 5), layers=(1, 1, 1, 1), channels=(8, 16, 24, 32), small_kernel=3)
TINY_UNI = dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32), kernel_sizes=((3,), (3,), (3,), (3,)))


def tool(path):
    spec = importlib.util.spec_from_file_location('lk_' + osp.splitext(osp.basename(path))[0], osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ShellPayload:
    """Unpickling this runs a shell command (the classic pickle exploit)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


class ExecPayload(ShellPayload):
    def __reduce__(self):
        return builtins.exec, (f'open({str(self.marker)!r}, "w").close()',)


class GetattrPayload(ShellPayload):
    """The first step to ``os.system`` through the ``getattr`` Runner checkpoints need (for HistoryBuffer's
    methods): the globals of an allowed function."""

    def __reduce__(self):
        return builtins.getattr, (torch._utils._rebuild_tensor_v2, '__globals__')


def save_payload(path, payload):
    torch.save({'meta': dict(epoch=1), 'state_dict': {'backbone.stem.weight': torch.ones(1), 'x': payload}}, path)
    return str(path)


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / 'PWNED'
    path = save_payload(tmp_path / 'evil.pth', ShellPayload(marker))
    yield path
    assert not marker.exists(), 'the payload ran'


def tiny_config(tmp_path, name='tiny.py', epochs=1, extra=''):
    """The quick-start config for one iteration, with AdamW, a scheduler and an EMA hook."""
    path = tmp_path / name
    path.write_text(f"""_base_ = '{QS_CONFIG}'
train_dataloader = dict(batch_size=16, dataset=dict(indices=16))
val_dataloader = dict(dataset=dict(indices=16), batch_size=16)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={epochs})
custom_hooks = [dict(type='EMAHook', momentum=0.01)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best='auto'))
{extra}
""")
    return str(path)


@pytest.fixture(scope='module')
def runner_run(tmp_path_factory):
    """One one-iteration Runner run shared by this module's tests."""
    tmp = tmp_path_factory.mktemp('runner')
    config = tiny_config(tmp)
    tool('tools/train.py').main([config, '--work-dir', str(tmp / 'work')])
    return dict(tmp=tmp, config=config, checkpoint=str(tmp / 'work' / 'epoch_1.pth'),
                best=str(tmp / 'work' / 'best_accuracy_top1_epoch_1.pth'))


# -- the loader --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('payload', [ShellPayload, ExecPayload, GetattrPayload])
def test_payload_is_refused_naming_file_and_global(tmp_path, payload):
    marker = tmp_path / 'PWNED'
    path = save_payload(tmp_path / 'evil.pth', payload(marker))
    with pytest.raises(UnsafeCheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert path in message and UNSAFE_LOAD_ENV in message
    assert {ShellPayload: 'posix.system', ExecPayload: 'builtins.exec',
            GetattrPayload: 'getattr(<function _rebuild_tensor_v2'}[payload] in message
    assert not marker.exists()


def test_history_buffer_statistics_table_cannot_be_replaced(tmp_path):
    """A HistoryBuffer whose pickled statistics table maps 'mean' to another allowed callable."""
    buffer = HistoryBuffer()  # fills the class-wide table with the genuine methods
    buffer._statistics_methods = {'mean': torch.Size}  # what the buffer pickles as its table
    path = tmp_path / 'stat.pth'
    torch.save({'message_hub': {'log_scalars': {'loss': buffer}}}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"stat.pth was refused.*\['mean'\]"):
        load_checkpoint(path)
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean


def test_numpy_values_and_empty_buffers_load_safely(tmp_path):
    path = tmp_path / 'values.pth'
    values = {'empty': np.array([]), 'ints': np.arange(3), 'half': np.ones(2, np.float16), 'flag': np.bool_(True),
              'score': np.float64(0.5), 'hub': HistoryBuffer()}
    torch.save(values, path)
    loaded = load_checkpoint(path)
    assert loaded['ints'].dtype == np.int64 and loaded['half'].dtype == np.float16 and loaded['score'] == 0.5
    assert loaded['empty'].size == 0 and len(loaded['hub']._log_history) == 0


def test_users_own_safe_globals_survive_a_load(tmp_path):
    path = tmp_path / 'array.pth'
    torch.save({'a': np.ones(2)}, path)
    with torch.serialization.safe_globals([np.dtype, np.ndarray]):
        load_checkpoint(path)
        assert {np.dtype, np.ndarray} <= set(torch.serialization.get_safe_globals())


def test_opt_in_loads_with_a_warning_naming_the_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'trusted.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}, 'saved_on': datetime.date(2024, 1, 1)}, path)
    with pytest.raises(UnsafeCheckpointError, match='datetime.date'):
        load_checkpoint(path)
    with pytest.warns(UserWarning, match=rf'{path} needs the global datetime.date: unpickling it fully'):
        assert load_checkpoint(path, unsafe=True)['saved_on'] == datetime.date(2024, 1, 1)
    monkeypatch.setenv(UNSAFE_LOAD_ENV, '1')
    with pytest.warns(UserWarning, match=path):
        assert load_checkpoint(path)['saved_on'].year == 2024
    monkeypatch.setenv(UNSAFE_LOAD_ENV, 'maybe')
    with pytest.raises(ValueError, match=rf"{UNSAFE_LOAD_ENV}='maybe' is not a switch"):
        load_checkpoint(path)


# -- every entry point refuses the payload -----------------------------------------------------------------------------
def test_train_refuses_payload_as_load_from_and_resume(runner_run, evil, tmp_path):
    train = tool('tools/train.py')
    with pytest.raises(UnsafeCheckpointError, match=rf'{evil} was refused'):
        train.main([runner_run['config'], '--work-dir', str(tmp_path / 'a'), '--cfg-options', f'load_from={evil}'])
    with pytest.raises(UnsafeCheckpointError, match=rf'{evil} was refused'):
        train.main([runner_run['config'], '--work-dir', str(tmp_path / 'b'), '--resume', evil])


def test_test_tool_refuses_payload(runner_run, evil, tmp_path):
    with pytest.raises(UnsafeCheckpointError, match=rf'{evil} was refused'):
        tool('tools/test.py').main([runner_run['config'], evil, '--work-dir', str(tmp_path / 'w')])


def test_init_cfg_pretrained_refuses_payload(evil):
    model = UniRepLKNet(TINY_UNI, init_cfg=dict(type='Pretrained', checkpoint=evil, prefix='backbone.'))
    with pytest.raises(UnsafeCheckpointError, match=rf'{evil} was refused'):
        model.init_weights()


@pytest.mark.parametrize('family', CONVERTERS)
def test_converters_refuse_payload(family, evil, tmp_path):
    with pytest.raises(UnsafeCheckpointError, match=rf'{evil} was refused'):
        tool('tools/model_converters/convert.py').main([family, evil, str(tmp_path / 'out.pth')])
    with pytest.raises(UnsafeCheckpointError, match=rf'{evil} was refused'):  # the per-family alias
        tool(f'tools/model_converters/{family}_to_largekernel.py').main([evil, str(tmp_path / 'out.pth')])
    assert not (tmp_path / 'out.pth').exists()


def test_reparameterize_refuses_payload(evil, tmp_path):
    with pytest.raises(UnsafeCheckpointError, match=rf'{evil} was refused'):
        tool('tools/model_converters/reparameterize.py').main([QS_CONFIG, evil, str(tmp_path / 'deploy.pth')])


def test_command_line_refuses_payload(runner_run, evil, tmp_path):
    result = subprocess.run([sys.executable, 'tools/test.py', runner_run['config'], evil, '--work-dir',
                             str(tmp_path / 'w')], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0 and f'{evil} was refused' in result.stderr


def test_unsafe_load_flag_opts_in(runner_run, tmp_path):
    """A trusted checkpoint holding an extra non-tensor object: refused by default, evaluated with --unsafe-load
    (with a warning naming it), and the switch does not outlive the command."""
    trusted = str(tmp_path / 'trusted.pth')
    torch.save({**load_checkpoint(runner_run['checkpoint']), 'saved_on': datetime.date(2024, 1, 1)}, trusted)
    test_tool = tool('tools/test.py')
    args = [runner_run['config'], trusted, '--work-dir', str(tmp_path / 'w')]
    with pytest.raises(UnsafeCheckpointError, match='datetime.date'):
        test_tool.main(args)
    with pytest.warns(UserWarning, match=rf'{trusted} needs the global datetime.date'):
        assert 'accuracy/top1' in test_tool.main(args + ['--unsafe-load'])
    with pytest.raises(UnsafeCheckpointError, match='datetime.date'):
        load_checkpoint(trusted)


# -- every legitimate checkpoint loads safely --------------------------------------------------------------------------
def test_runner_checkpoint_loads_safely_and_resumes(runner_run, tmp_path, recwarn):
    checkpoint = load_checkpoint(runner_run['checkpoint'])
    assert {'meta', 'state_dict', 'ema_state_dict', 'optimizer', 'param_schedulers', 'message_hub'} <= set(checkpoint)
    assert checkpoint['optimizer']['state'] and 'exp_avg' in checkpoint['optimizer']['state'][0]  # AdamW
    assert isinstance(checkpoint['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert load_checkpoint(runner_run['best'])['meta']['epoch'] == 1
    config = tiny_config(tmp_path, name='longer.py', epochs=2)
    work = str(tmp_path / 'resumed')
    tool('tools/train.py').main([config, '--work-dir', work, '--resume', runner_run['checkpoint']])
    resumed = load_checkpoint(osp.join(work, 'epoch_2.pth'))
    assert resumed['meta']['iter'] == 2 and resumed['ema_state_dict']['steps'] == 2
    assert not [w for w in recwarn if 'unpickling it fully' in str(w.message)]


def test_deploy_and_converted_checkpoints_load_safely(runner_run, tmp_path):
    deploy = str(tmp_path / 'deploy.pth')
    tool('tools/model_converters/reparameterize.py').main([runner_run['config'], runner_run['checkpoint'], deploy,
                                                           '--use-ema'])
    assert load_checkpoint(deploy)['meta']['deploy'] is True
    # an official full training checkpoint (DeiT/ConvNeXt lineage: model, EMA, optimizer, scaler, args)
    official = official_checkpoint('unireplknet-A', device='cpu')['model']
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'converted.pth')
    torch.save({'model': official, 'model_ema': official, 'optimizer': {'state': {}, 'param_groups': []},
                'epoch': 299, 'scaler': {'scale': 65536.0}, 'args': argparse.Namespace(model='unireplknet_a')}, src)
    tool('tools/model_converters/convert.py').main(['unireplknet', src, dst])
    dense = UniRepLKNet('A', out_indices=(0, 1, 2, 3),
                        init_cfg=dict(type='Pretrained', checkpoint=dst, prefix='backbone.'))
    dense.init_weights()
    assert torch.equal(dense.norm3.weight, official['norm.weight'])


# -- strict loading: only dense-prediction out norms may be absent -----------------------------------------------------
def test_missing_head_norm_is_an_error():
    state = RepLKNet(SMALL_REPLK).state_dict()  # classification form: the head BN is norm3
    without_head_bn = {k: v for k, v in state.items() if not k.startswith('norm3.')}
    with pytest.raises(RuntimeError, match=r"missing keys \(5\): \['norm3.weight'.*\['norm3'\] must be in the "
                                           r'checkpoint'):
        load_state_dict_checked(RepLKNet(SMALL_REPLK), without_head_bn, source='cls.pth')
    dense = RepLKNet(SMALL_REPLK, out_indices=(0, 1, 2, 3))
    with pytest.raises(RuntimeError, match=r"\['norm3'\] must be in the checkpoint"):
        load_state_dict_checked(dense, without_head_bn, source='cls.pth')
    partial = {k: v for k, v in state.items() if k != 'norm3.running_var'}
    with pytest.raises(RuntimeError, match=r"missing keys \(1\): \['norm3.running_var'\]"):
        load_state_dict_checked(RepLKNet(SMALL_REPLK), partial)


def test_classification_checkpoint_into_dense_models(monkeypatch):
    logged = []
    monkeypatch.setattr('largekernel.utils.checkpoint.print_log', lambda msg, **kwargs: logged.append(msg))
    source = UniRepLKNet(TINY_UNI, gap_before_final_norm=True)
    state = source.state_dict()
    dense = UniRepLKNet(TINY_UNI, out_indices=(0, 1, 2, 3))
    assert dense.dense_out_norms() == ['norm0', 'norm1', 'norm2']
    load_state_dict_checked(dense, state, source='cls.pth')
    assert torch.equal(dense.norm3.weight, source.norm3.weight)
    assert "kept at their initial values: ['norm0', 'norm1', 'norm2']" in logged[-1]
    no_norms = UniRepLKNet(TINY_UNI, out_indices=(1, 2, 3), out_norms=False)
    load_state_dict_checked(no_norms, state, source='cls.pth')
    assert "cls.pth: out norms this model does not have, dropped: ['norm3']" in logged[-1]
    # a dense checkpoint whose intermediate norm is half there, or a stage key missing, stays an error
    broken = {k: v for k, v in dense.state_dict().items() if k != 'norm1.bias'}
    with pytest.raises(RuntimeError, match=r"missing keys \(1\): \['norm1.bias'\]"):
        load_state_dict_checked(UniRepLKNet(TINY_UNI, out_indices=(0, 1, 2, 3)), broken)
    with pytest.raises(RuntimeError, match=r'unexpected keys \(1\): \[.norm7.weight.\]'):
        load_state_dict_checked(UniRepLKNet(TINY_UNI), {**state, 'norm7.weight': torch.ones(1)})
