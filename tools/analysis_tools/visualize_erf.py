"""Effective receptive field of largekernel backbones (RepLKNet Appendix B, Table 10).

    python tools/analysis_tools/visualize_erf.py CONFIG [CHECKPOINT] [CONFIG [CHECKPOINT] ...] --data DIR \
        [--num-images 50] [--size 1024] [--batch-size 1] [--reparameterize] [--paper-formula] --out DIR

For each config (its ``model.backbone``; classifier, detector and segmentor configs all work) with an optional
checkpoint (ours or converted, with or without the ``backbone.`` prefix; without one the weights are the config's
random initialisation), the images of DIR (an ImageNet-style folder, searched recursively, first N in sorted order)
are resized to SIZE x SIZE (1024 in the paper), normalised with the config's data preprocessor, and the gradients
of the last stage's central points are aggregated (``largekernel.utils.erf``). Written to --out:

- ``<name>.npy``: the aggregated contribution scores (before the logarithm), ``<name>.png``: the normalised ERF as
  a heatmap;
- ``erf.md``: the high-contribution area ratio r at t = 20, 30, 50, 99 % for every model (Table 10);
- ``erf_side_by_side.png`` when several configs are given.

``--reparameterize`` measures the deploy form (the ERF is the same: the forms compute the same function).
"""
import argparse
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.utils import ProgressBar
from PIL import Image

from largekernel.utils.checkpoint import load_checkpoint, load_state_dict_checked
from largekernel.utils.erf import THRESHOLDS, area_ratios, contribution_scores, normalized_erf

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
IMAGENET_MEAN, IMAGENET_STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


def parse_models(items):
    """``[CONFIG [CHECKPOINT]] ...`` -> ``[(config, checkpoint or None)]``: a config is a ``.py`` file."""
    models = []
    for item in items:
        if item.endswith('.py'):
            models.append([item, None])
        elif models and models[-1][1] is None:
            models[-1][1] = item
        else:
            raise ValueError(f'{item!r} is neither a config (.py) nor the checkpoint of the config before it; '
                             'usage: CONFIG [CHECKPOINT] [CONFIG [CHECKPOINT] ...]')
    if not models:
        raise ValueError('give at least one CONFIG (.py)')
    for config, _ in models:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config {config} does not exist')
    return [tuple(m) for m in models]


def build_backbone(config, checkpoint=None, reparameterize=False):
    """The config's backbone returning its last stage's feature map (no pooling, no out norms), in eval mode."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    backbone_cfg = cfg.model.get('backbone')
    if backbone_cfg is None:
        raise KeyError(f'{config} has no model.backbone')
    backbone_cfg.update(out_indices=(-1,), out_norms=False, gap_before_final_norm=False, init_cfg=None)
    backbone = MODELS.build(backbone_cfg)
    if checkpoint is not None:
        state = load_checkpoint(checkpoint)
        state = state.get('state_dict', state) if isinstance(state, dict) else state
        state = {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}
        if any(k.startswith('backbone.') for k in state):
            state = {k[9:]: v for k, v in state.items() if k.startswith('backbone.')}
        load_state_dict_checked(backbone, state, source=checkpoint)
    if reparameterize:
        backbone.switch_to_deploy()
    return backbone.eval(), cfg


def preprocessing(cfg, in_channels):
    """Mean and std (0-255 scale) of the config's data preprocessor, ImageNet's if it has none."""
    pre = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    mean, std = pre.get('mean', IMAGENET_MEAN[:in_channels]), pre.get('std', IMAGENET_STD[:in_channels])
    if len(mean) != in_channels or len(std) != in_channels:
        raise ValueError(f'data_preprocessor mean {mean} / std {std} do not match the backbone\'s {in_channels} '
                         'input channels')
    return torch.tensor(mean).view(-1, 1, 1), torch.tensor(std).view(-1, 1, 1)


def list_images(folder, num_images):
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} does not exist')
    paths = sorted(osp.join(root, f) for root, _, files in os.walk(folder) for f in files
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise FileNotFoundError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) under {folder}')
    if num_images > len(paths):
        raise ValueError(f'--num-images {num_images} but {folder} has only {len(paths)} images')
    return paths[:num_images]


def load_image(path, size, in_channels, mean, std):
    mode = {1: 'L', 3: 'RGB'}.get(in_channels)
    if mode is None:
        raise ValueError(f'images can feed backbones with 1 or 3 input channels, not {in_channels}')
    image = Image.open(path).convert(mode).resize((size, size), Image.BILINEAR)
    array = torch.from_numpy(np.asarray(image, dtype=np.float32).copy()).reshape(size, size, in_channels)
    return (array.permute(2, 0, 1) - mean) / std


def measure(backbone, cfg, paths, size, batch_size=1, relu_output=True):
    """Aggregated contribution scores of ``backbone`` over the images at ``paths``."""
    in_channels = next(m for m in backbone.modules() if isinstance(m, torch.nn.Conv2d)).in_channels
    mean, std = preprocessing(cfg, in_channels)
    scores = np.zeros((size, size))
    bar = ProgressBar(len(paths))
    for start in range(0, len(paths), batch_size):
        batch = torch.stack([load_image(p, size, in_channels, mean, std) for p in paths[start:start + batch_size]])
        scores += contribution_scores(backbone, batch, relu_output=relu_output)
        for _ in range(len(batch)):
            bar.update()
    print()
    return scores


def heatmap(erf):
    """RGB uint8 image of a [0, 1] map with the red-yellow-green colour map of the paper's figures."""
    from matplotlib import colormaps
    return (colormaps['RdYlGn'](erf)[..., :3] * 255).astype(np.uint8)


def side_by_side(images, names, label_height=28):
    import cv2
    tiles = []
    for image, name in zip(images, names):
        label = np.full((label_height, image.shape[1], 3), 255, np.uint8)
        cv2.putText(label, name[:max(1, image.shape[1] // 9)], (4, label_height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.concatenate([label, image]))
    return np.concatenate(tiles, axis=1)


def ratio_table(results):
    lines = ['| model | ' + ' | '.join(f't = {t:.0%}' for t in THRESHOLDS) + ' |',
             '|---|' + '---|' * len(THRESHOLDS)]
    for name, ratios in results.items():
        lines.append(f'| {name} | ' + ' | '.join(f'{ratios[t][1]:.1%} ({ratios[t][0]} px)' for t in THRESHOLDS)
                     + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('models', nargs='+', metavar='CONFIG [CHECKPOINT]', help='configs, each with an optional '
                        'checkpoint after it')
    parser.add_argument('--data', required=True, help='image folder (searched recursively)')
    parser.add_argument('--num-images', type=int, default=50, help='images to aggregate (the paper: 50)')
    parser.add_argument('--size', type=int, default=1024, help='input side length (the paper: 1024)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--reparameterize', action='store_true', help='measure the deploy form')
    parser.add_argument('--paper-formula', action='store_true', help="no ReLU on the central points (the paper's "
                        'Eq. 1); the default follows the official script')
    parser.add_argument('--out', required=True, help='output folder')
    args = parser.parse_args(argv)
    if args.num_images < 1 or args.size < 1 or args.batch_size < 1:
        parser.error('--num-images, --size and --batch-size must be positive')
    models = parse_models(args.models)
    paths = list_images(args.data, args.num_images)
    os.makedirs(args.out, exist_ok=True)
    results, images, names = {}, [], []
    for config, checkpoint in models:
        name = osp.splitext(osp.basename(config))[0] + ('-deploy' if args.reparameterize else '')
        if name in results:
            name += f'-{len(results)}'
        backbone, cfg = build_backbone(config, checkpoint, args.reparameterize)
        print(f'{name}: {len(paths)} images at {args.size} x {args.size}')
        scores = measure(backbone, cfg, paths, args.size, args.batch_size, relu_output=not args.paper_formula)
        erf = normalized_erf(scores)
        np.save(osp.join(args.out, f'{name}.npy'), scores)
        images.append(heatmap(erf))
        Image.fromarray(images[-1]).save(osp.join(args.out, f'{name}.png'))
        results[name], names = area_ratios(erf), names + [name]
    table = ratio_table(results)
    with open(osp.join(args.out, 'erf.md'), 'w') as f:
        f.write(table)
    if len(images) > 1:
        Image.fromarray(side_by_side(images, names)).save(osp.join(args.out, 'erf_side_by_side.png'))
    print(table)
    return results


if __name__ == '__main__':
    main()
