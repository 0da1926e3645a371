"""Export the deploy form of a largekernel model to ONNX and check it in onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out FILE --shape H W [--dynamic-batch]
        [--opset 18] [--exporter torchscript|dynamo] [--tolerance 1e-4] [--cfg-options k=v ...]

CONFIG is a training-form config or its ``*-deploy`` twin; CHECKPOINT may be of either form (the form whose keys it
has is built, loaded strictly, then re-parameterised if it is the training form). Without a checkpoint the config's
initial weights are exported (useful to check that a model exports). An mmpretrain classifier is exported whole
(image -> logits, before softmax); for detectors and segmentors only the backbone is exported (image -> one feature
map per out index): their heads are mmdeploy's business.

Before reporting success the exported file is run in onnxruntime on a seeded random input (and on a second batch
size with --dynamic-batch) and compared with PyTorch: the largest absolute difference over the largest absolute
output must stay below --tolerance, else the file is deleted and the export fails naming the output that differs.
"""
import argparse
import os
import os.path as osp
import warnings

import numpy as np
import torch
from mmengine.config import Config, DictAction
from torch import nn

import largekernel  # noqa: F401  (registers the models, installs the runtime fixes)
from largekernel.utils import build_model_from_config, largekernel_backbones, switch_to_deploy
from largekernel.utils.checkpoint import load_checkpoint


class Logits(nn.Module):
    """An mmpretrain classifier as image -> logits."""

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(x, mode='tensor')


def load_deploy_model(cfg, checkpoint=None):
    """The config's model in deploy form, eval mode, with ``checkpoint`` (either form) loaded strictly."""
    deploy_config = bool(cfg.model.get('backbone', {}).get('deploy', False))
    model = build_model_from_config(cfg, deploy=deploy_config)
    if checkpoint is not None:
        loaded = load_checkpoint(checkpoint)
        state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else loaded
        state = {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}
        if not deploy_config and set(state) != set(model.state_dict()):
            deployed = build_model_from_config(cfg, deploy=True)
            if set(state) == set(deployed.state_dict()):
                model = deployed
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise RuntimeError(f'checkpoint {checkpoint} matches neither form of the model of the config: missing '
                               f'keys ({len(missing)}): {missing[:8]}; unexpected keys ({len(unexpected)}): '
                               f'{unexpected[:8]}')
    model.eval()
    if not largekernel_backbones(model):
        raise TypeError(f'{type(model).__name__} contains no largekernel backbone')
    switch_to_deploy(model)
    return model


def export_module(model):
    """What is exported: the whole classifier, or the backbone of any other model."""
    if hasattr(model, 'head') and type(model).__name__ == 'ImageClassifier':
        return Logits(model).eval(), False
    (backbone,) = largekernel_backbones(model)
    return backbone, True


def export(module, inputs, out, opset, dynamic_batch, exporter):
    kwargs = dict(input_names=['input'], opset_version=opset)
    if exporter == 'dynamo':
        if dynamic_batch:
            kwargs['dynamic_shapes'] = ({0: torch.export.Dim('batch')},)
        program = torch.onnx.export(module, (inputs,), dynamo=True, **kwargs)
        program.save(out, external_data=False)
    else:
        if dynamic_batch:
            kwargs['dynamic_axes'] = {'input': {0: 'batch'}}
        torch.onnx.export(module, (inputs,), out, dynamo=False, **kwargs)


def relative_errors(module, out, inputs):
    """Largest |ONNX - PyTorch| over the largest |PyTorch| of every output."""
    import onnxruntime
    try:
        session = onnxruntime.InferenceSession(out, providers=['CPUExecutionProvider'])
    except Exception as error:  # onnxruntime raises its own exception types
        raise RuntimeError(f'onnxruntime cannot load {out}: {error}') from None
    got = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})
    with torch.no_grad():
        want = module(inputs)
    want = [want] if torch.is_tensor(want) else list(want)
    if len(got) != len(want):
        raise RuntimeError(f'{out}: the ONNX model has {len(got)} outputs, PyTorch {len(want)}')
    errors = []
    for g, w in zip(got, want):
        w = w.numpy()
        if g.shape != w.shape:
            raise RuntimeError(f'{out}: ONNX output of shape {g.shape}, PyTorch {w.shape}')
        errors.append(float(np.abs(g - w).max() / max(np.abs(w).max(), 1e-12)))
    return errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='training- or deploy-form checkpoint (default: none)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs=2, required=True, metavar=('H', 'W'), help='input size')
    parser.add_argument('--dynamic-batch', action='store_true', help='a batch dimension of any size')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--exporter', choices=('torchscript', 'dynamo'), default='torchscript',
                        help='the TorchScript-based exporter (default: it exports every family) or the '
                        'torch.export-based one (torch.onnx.export(dynamo=True); its graph for ShiftWise is invalid '
                        'in torch 2.13, the tool then stops naming the onnxruntime error)')
    parser.add_argument('--tolerance', type=float, default=1e-4, help='largest relative error accepted')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if path is not None and not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path} does not exist')
    if min(args.shape) < 1:
        parser.error(f'--shape {args.shape}: both sides must be positive')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    module, backbone_only = export_module(load_deploy_model(cfg, args.checkpoint))
    in_channels = next(m for m in module.modules() if isinstance(m, nn.Conv2d)).in_channels
    generator = torch.Generator().manual_seed(0)
    # torch.export specialises a dimension of size 1, so a dynamic batch is traced with two images
    inputs = torch.randn(2 if args.dynamic_batch else 1, in_channels, *args.shape, generator=generator)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')
        export(module, inputs, args.out, args.opset, args.dynamic_batch, args.exporter)
    checks = [inputs] + ([torch.randn(1, in_channels, *args.shape, generator=generator)] if args.dynamic_batch else [])
    worst_error = 0.0
    module.eval()  # the exporter restores the mode the module had; make sure nothing left it training
    for batch in checks:
        errors = relative_errors(module, args.out, batch)
        worst_error = max(worst_error, *errors)
        worst = int(np.argmax(errors))
        if errors[worst] > args.tolerance:
            os.remove(args.out)
            raise RuntimeError(f'{args.out} (deleted) disagrees with PyTorch on output {worst} at batch size '
                               f'{len(batch)}: relative error {errors[worst]:.2e} > --tolerance {args.tolerance:g}')
    what = 'backbone (feature maps)' if backbone_only else 'classifier (logits)'
    print(f'{args.config} -> {args.out}: deploy-form {what}, input {"N" if args.dynamic_batch else 1} x {in_channels} x {args.shape[0]} x '
          f'{args.shape[1]}{" (dynamic batch)" if args.dynamic_batch else ""}, onnxruntime relative error '
          f'{worst_error:.1e} (tolerance {args.tolerance:g})')
    return worst_error


if __name__ == '__main__':
    main()
