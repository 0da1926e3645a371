"""Re-parameterise a trained checkpoint into the deploy (inference) form.

    python tools/model_converters/reparameterize.py CONFIG CHECKPOINT OUT [--use-ema]

CONFIG is the training-form config the checkpoint was trained with. OUT loads into the matching ``*-deploy`` config
(``model.backbone.deploy=True``) and gives the same predictions; the script checks that by loading OUT strictly into
a deploy-form model built from CONFIG. ``--use-ema`` converts the EMA weights saved by mmengine's EMAHook.
"""
import argparse
import os.path as osp

import torch
from mmengine.config import Config

import largekernel  # noqa: F401
from largekernel.utils import build_model_from_config, switch_to_deploy
from largekernel.utils.checkpoint import load_checkpoint


def load_weights(checkpoint_path, use_ema):
    checkpoint = load_checkpoint(checkpoint_path)
    if use_ema:
        if 'ema_state_dict' not in checkpoint:
            raise KeyError(f'--use-ema: {checkpoint_path} has no ema_state_dict (was EMAHook enabled?)')
        return {k[len('module.'):]: v for k, v in checkpoint['ema_state_dict'].items() if k.startswith('module.')}
    return checkpoint.get('state_dict', checkpoint)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='training-form config')
    parser.add_argument('checkpoint', help='training-form checkpoint')
    parser.add_argument('out', help='where to write the deploy checkpoint')
    parser.add_argument('--use-ema', action='store_true', help="convert the checkpoint's EMA weights")
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} does not exist')
    cfg = Config.fromfile(args.config)
    if cfg.model.get('backbone', {}).get('deploy', False):
        raise ValueError(f'{args.config} already builds the deploy form; pass the training-form config')
    model = build_model_from_config(cfg, deploy=False)
    state = load_weights(args.checkpoint, args.use_ema)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise RuntimeError(f'{args.checkpoint} does not match {args.config}: missing {result.missing_keys[:8]}, '
                           f'unexpected {result.unexpected_keys[:8]}')
    model.eval()
    switch_to_deploy(model)
    deploy_state = model.state_dict()
    build_model_from_config(cfg, deploy=True).load_state_dict(deploy_state, strict=True)
    torch.save({'meta': dict(deploy=True, source=args.checkpoint, config=args.config, ema=args.use_ema),
                'state_dict': deploy_state}, args.out)
    print(f'{args.checkpoint} -> {args.out}: deploy form, {len(deploy_state)} tensors '
          f'(training form had {len(state)})')


if __name__ == '__main__':
    main()
