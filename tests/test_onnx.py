"""ONNX export of every family's deploy form (tools/deployment/pytorch2onnx.py), checked in onnxruntime."""
import importlib.util
import os.path as osp

import onnx
import pytest
import torch

from conftest import ROOT
from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.utils import build_model_from_config, switch_to_deploy

SMALL = "dict(_delete_=True, depths=(1, 1, 1, 1), dims=(16, 32, 64, 128))"
SMALL_UNIREPLKNET = SMALL[:-1] + ', kernel_sizes=((3,), (13,), (7,), (3,)))'
# family: (ImageNet config, overrides that shrink it to a small variant of the same family, in config syntax)
FAMILIES = {
    'unireplknet': ('configs/unireplknet/unireplknet-a_8xb128-accum4_in1k.py', ''),
    'replknet': ('configs/replknet/replknet-31B_8xb64-accum4_in1k.py', (
        "arch=dict(_delete_=True, large_kernel_sizes=(13, 11, 7, 5), layers=(1, 1, 1, 1), channels=(16, 32, 64, 128), "
        "small_kernel=3, dw_ratio=1)")),
    'slak': ('configs/slak/slak-t_8xb128-accum4_in1k.py', f'arch={SMALL}'),
    'shiftwise': ('configs/shiftwise/shiftwise-tiny_8xb64-accum8_in1k.py', f'arch={SMALL}'),
    'uniconvnet': ('configs/uniconvnet/uniconvnet-a_8xb128-accum4_in1k.py',  # DCNv3 included
                   'arch=dict(_delete_=True, depths=(1, 1, 1, 1), dims=(16, 32, 64, 128), dcn_group_channels=8)'),
    'convnest': ('configs/convnest/convnest-a_8xb128-accum4_in1k.py', ''),
    'convnest-isotropic': ('configs/convnest/convnest-isotropic-a_8xb128-accum4_in1k.py', ''),
}


def _config(tmp_path, family):
    """The family's config, shrunk: a child config in ``tmp_path`` that overrides the backbone's arch."""
    base, arch = FAMILIES[family]
    if not arch:
        return osp.join(ROOT, base)
    path = tmp_path / f'{family}_small.py'
    width = int(128 * 1.3) if family == 'slak' else 128  # SLaK widens every stage by 1.3
    path.write_text(f"_base_ = {osp.join(ROOT, base)!r}\nmodel = dict(backbone=dict({arch}), "
                    f"head=dict(in_channels={width}))\n")
    return str(path)


def _tool():
    spec = importlib.util.spec_from_file_location('pytorch2onnx', osp.join(ROOT, 'tools/deployment/pytorch2onnx.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _training_checkpoint(path, config):
    """A training-form checkpoint with non-trivial BN statistics, so that re-parameterisation is exercised."""
    model = build_model_from_config(config, deploy=False)
    randomize_bn_stats(model, torch.Generator().manual_seed(0))
    torch.save({'state_dict': model.state_dict()}, path)
    return model


def _export(tmp_path, family, exporter, checkpoint=None, extra=()):
    out = str(tmp_path / f'{family}.onnx')
    args = [_config(tmp_path, family)] + ([checkpoint] if checkpoint else [])
    return _tool().main(args + ['--out', out, '--shape', '64', '64', '--exporter', exporter, *extra]), out


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_every_family_exports_from_a_training_checkpoint(tmp_path, family):
    checkpoint = str(tmp_path / 'train.pth')
    model = _training_checkpoint(checkpoint, _config(tmp_path, family)).eval()
    error, out = _export(tmp_path, family, 'torchscript', checkpoint, extra=['--dynamic-batch'])
    assert error < 1e-4
    graph = onnx.load(out).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param  # the batch dimension is symbolic
    # the exported (deploy) model computes what the training form computes
    import onnxruntime
    x = torch.randn(2, 3, 64, 64)
    session = onnxruntime.InferenceSession(out, providers=['CPUExecutionProvider'])
    (logits,) = session.run(None, {'input': x.numpy()})
    with torch.no_grad():
        expected = model(x, mode='tensor')
    torch.testing.assert_close(torch.from_numpy(logits), expected, rtol=1e-3, atol=1e-3 * expected.abs().max())


# ShiftWise is left out: torch 2.13's torch.export-based exporter writes an invalid graph for it (a Pad output that
# no node produces); the TorchScript exporter above exports it.
@pytest.mark.parametrize('family', ['unireplknet', *(pytest.param(f, marks=pytest.mark.slow) for f in sorted(FAMILIES)
                                                     if f not in ('unireplknet', 'shiftwise'))])
def test_dynamo_exporter_and_a_deploy_checkpoint_with_the_training_config(tmp_path, family):
    model = _training_checkpoint(str(tmp_path / 'train.pth'), _config(tmp_path, family)).eval()
    torch.save({'state_dict': switch_to_deploy(model).state_dict()}, tmp_path / 'deploy.pth')
    error, out = _export(tmp_path, family, 'dynamo', str(tmp_path / 'deploy.pth'), extra=['--dynamic-batch'])
    assert error < 1e-4
    assert sum(t.ByteSize() for t in onnx.load(out).graph.initializer) > 0  # weights inside the file


def test_backbone_only_for_a_detector(tmp_path):
    config = tmp_path / 'det.py'
    config.write_text(f"_base_ = {osp.join(ROOT, 'configs/unireplknet/cascade-mask-rcnn_unireplknet-t_fpn_ms-3x_coco.py')!r}\n"
                      f"model = dict(backbone=dict(arch={SMALL_UNIREPLKNET}, init_cfg=None), neck=dict(in_channels=[16, 32, 64, 128]))\n")
    out = str(tmp_path / 'det.onnx')
    error = _tool().main([str(config), '--out', out, '--shape', '64', '64', '--exporter', 'torchscript'])
    assert error < 1e-4
    assert [tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in onnx.load(out).graph.output] == [
        (1, 16, 16, 16), (1, 32, 8, 8), (1, 64, 4, 4), (1, 128, 2, 2)]


def test_disagreement_and_bad_checkpoints_are_named(tmp_path):
    with pytest.raises(RuntimeError, match=r'convnest\.onnx \(deleted\) disagrees .* output 0'):
        _export(tmp_path, 'convnest', 'torchscript', extra=['--tolerance', '0'])
    assert not (tmp_path / 'convnest.onnx').exists()
    torch.save({'state_dict': {'backbone.nothing': torch.zeros(1)}}, tmp_path / 'bad.pth')
    with pytest.raises(RuntimeError, match='bad.pth matches neither form'):
        _export(tmp_path, 'convnest', 'torchscript', str(tmp_path / 'bad.pth'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _export(tmp_path, 'convnest', 'torchscript', str(tmp_path / 'missing.pth'))


def test_plain_export_of_a_shiftwise_deploy_model_that_never_ran():
    """``torch.onnx.export`` (TorchScript-based) straight after ``switch_to_deploy()``: ShiftWise's computed strip
    kernels enter the graph as constants (they failed with 'kernel of unknown shape' when computed in the trace),
    and onnxruntime gives PyTorch's output; a later weight change is still seen by eager inference."""
    import io

    import onnxruntime
    from largekernel.models.backbones import ShiftWise
    torch.manual_seed(0)
    model = ShiftWise(dict(depths=(1, 1, 1, 1), dims=(10, 12, 16, 20)), kernel_sizes=(13, 11, 9, 7)).eval()
    randomize_bn_stats(model)
    model.switch_to_deploy()
    x = torch.randn(1, 3, 64, 48)
    buffer = io.BytesIO()
    torch.onnx.export(model, (x,), buffer, dynamo=False, opset_version=18)
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=['CPUExecutionProvider'])
    got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
    with torch.no_grad():
        want = model(x)[-1]
        assert (got - want).abs().max() <= 1e-4 * want.abs().max()
        model.stages[0][0].mixer.lk_conv.weight.mul_(2)
        assert not torch.allclose(model(x)[-1], want)
