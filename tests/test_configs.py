"""Invariants of every ImageNet config: it runs unchanged on 8 GPUs with the paper's total batch, and its name
says how (``{arch}_8xb{per-GPU batch}[-accum{steps}]...``, mmpretrain naming)."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from largekernel.utils.model_index import load_model_index

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGENET = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '*', '**', '*.py'), recursive=True)
                  if re.search(r'_in(1|21)k(-\d+px)?\.py$', p) and '/_base_/' not in p)


def test_every_family_has_imagenet_configs():
    families = {p.split('/configs/')[1].split('/')[0] for p in IMAGENET}
    assert families == {'convnest', 'replknet', 'shiftwise', 'slak', 'uniconvnet', 'unireplknet'}


@pytest.mark.parametrize('path', IMAGENET, ids=lambda p: p.split('/configs/')[1])
def test_total_batch_on_8_gpus_matches_the_recipe_and_the_name(path):
    cfg = Config.fromfile(path)
    batch = cfg.train_dataloader.batch_size
    accum = cfg.optim_wrapper.get('accumulative_counts', 1)
    assert 8 * batch * accum == cfg.auto_scale_lr.base_batch_size
    layout = re.search(r'_(\d+)xb(\d+)(?:-accum(\d+))?', osp.basename(path))
    assert layout, f'{osp.basename(path)} does not state its GPU layout'
    assert (int(layout[1]), int(layout[2]), int(layout[3] or 1)) == (8, batch, accum)


def _deploy_twin(path):
    folder, name = osp.split(path)
    stem, rest = name.split('_', 1)
    return osp.join(folder, 'deploy', f'{stem}-deploy_{rest}')


EVALUATED = sorted({osp.join(ROOT, e.config) for e in load_model_index().values()
                    if e.config and e.training_data[-1] == 'ImageNet-1k'} & set(IMAGENET))


@pytest.mark.parametrize('path', EVALUATED, ids=lambda p: p.split('/configs/')[1])
def test_every_classifier_config_has_a_deploy_twin(path):
    """Every family ships a deploy twin per ImageNet-1k classifier config (the README's promise): the same model,
    data and schedule with ``model.backbone.deploy=True`` (a twin may drop training-only hooks, e.g. the sparse
    hook, which has nothing to mask in the deploy form)."""
    cfg = Config.fromfile(path)
    if cfg.model.type != 'ImageClassifier':
        pytest.skip(f'{cfg.model.type} is not a plain classifier (e.g. a distillation wrapper, evaluated with the '
                    "student's own config)")
    twin = _deploy_twin(path)
    assert osp.isfile(twin), f'no deploy twin {osp.relpath(twin, ROOT)}'
    twin_cfg = Config.fromfile(twin)
    assert twin_cfg.model.backbone.pop('deploy') is True and not cfg.model.backbone.get('deploy', False)
    cfg.model.backbone.pop('deploy', None)
    for c in (cfg, twin_cfg):
        c.pop('custom_hooks', None)
    assert twin_cfg.to_dict() == cfg.to_dict()
