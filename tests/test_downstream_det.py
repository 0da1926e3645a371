"""Two-stage COCO detectors (Mask R-CNN, Cascade Mask R-CNN) of RepLKNet, SLaK, ShiftwiseConv, UniConvNet and
ConvNeSt: the configs state their recipes, build at paper size with the published parameter counts and FLOPs at
1280x800 (configs/<family>/metafile.yml), and one tiny detector per family trains on the COCO fixture
(tests/data/downstream) through tools/train.py, is evaluated by tools/test.py and re-parameterised by
reparameterize.py into a deploy form with the same features. The default suite runs the UniConvNet Mask R-CNN and
checks the published sizes; the Cascade Mask R-CNN runs (RepLKNet, SLaK, ShiftwiseConv), the ConvNeSt Mask R-CNN
run and the paper-size builds of the configs without published sizes are marked slow."""
import copy
import functools
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from largekernel.utils import count_macs
from largekernel.utils.checkpoint import load_checkpoint
from largekernel.utils.model_index import list_models
from test_downstream import restore_default_scope  # noqa: F401 (the module's autouse fixture)
from test_downstream import BN, ROOT, build, count_params, fixture_image, need, tiny_det, tool, train_losses

FAMILIES = ('replknet', 'slak', 'shiftwise', 'uniconvnet', 'convnest')
ENTRIES = {e.name: e for e in list_models() if e.config and e.training_data[-1] == 'COCO'
           and 'rcnn' in e.name and e.config.split('/')[1] in FAMILIES}
DETR = 'detr'  # flip + DETR-style AutoAugment (configs/_base_/datasets/coco-instance_detr-aug.py)
MS = 'ms'  # multi-scale 480-800 (configs/_base_/datasets/coco-instance_ms-480-800.py)
SS = 'ss'  # mmdet's single-scale (1333, 800) pipeline
# the recipe of each config: detector, backbone class, arch, drop path, lr, layer decay (rate, num_layers) or None,
# images per GPU, epochs, lr steps, training augmentation
_CASCADE_3X = ('CascadeRCNN', 36, [27, 33])
RECIPES = {
    'cascade-mask-rcnn_replknet-31B_fpn_ms-3x_coco': ('RepLKNet', '31B', 0.6, 4e-4, None, 1, *_CASCADE_3X, DETR),
    'cascade-mask-rcnn_replknet-31B-in21k-pre_fpn_ms-3x_coco': ('RepLKNet', '31B', 0.4, 4e-4, None, 1, *_CASCADE_3X,
                                                                 DETR),
    'cascade-mask-rcnn_replknet-31L-in21k-pre_fpn_ms-3x_coco': ('RepLKNet', '31L', 0.7, 4e-4, None, 1, *_CASCADE_3X,
                                                                 DETR),
    'cascade-mask-rcnn_replknet-XL-meg73m-pre_fpn_ms-3x_coco': ('RepLKNet', 'XL', 0.5, 4e-4, None, 4, *_CASCADE_3X,
                                                                 DETR),
    'cascade-mask-rcnn_slak-t_fpn_ms-3x_coco': ('SLaK', 'T', 0.4, 2e-4, (0.7, 6), 2, *_CASCADE_3X, DETR),
    'cascade-mask-rcnn_shiftwise-tiny_fpn_ms-3x_coco': ('ShiftWise', 'tiny', 0.4, 1e-4, (0.8, 12), 2, *_CASCADE_3X,
                                                        DETR),
    'cascade-mask-rcnn_shiftwise-small_fpn_ms-3x_coco': ('ShiftWise', 'small', 0.5, 1e-4, (0.8, 12), 2,
                                                         *_CASCADE_3X, DETR),
}
for _arch, _dp in (('N2', 0.2), ('N3', 0.2), ('T', 0.2), ('S', 0.3), ('B', 0.4), ('L', 0.4)):
    _n = f'uniconvnet-{_arch.lower()}' + ('-in21k-pre' if _arch == 'L' else '')
    RECIPES[f'mask-rcnn_{_n}_fpn_1x_coco'] = ('UniConvNet', _arch, _dp, 1e-4, None, 2, 'MaskRCNN', 12, [8, 11], SS)
    RECIPES[f'mask-rcnn_{_n}_fpn_ms-3x_coco'] = ('UniConvNet', _arch, _dp, 1e-4, None, 2, 'MaskRCNN', 36, [27, 33], MS)
    RECIPES[f'cascade-mask-rcnn_{_n}_fpn_ms-3x_coco'] = ('UniConvNet', _arch, _dp, 1e-4, None, 2, *_CASCADE_3X, MS)
for _arch, _dp, _layers in (('A', 0.1, 6), ('F', 0.1, 6), ('P', 0.1, 6), ('N', 0.1, 7), ('T', 0.4, 8)):
    _n = f'convnest-{_arch.lower()}'
    RECIPES[f'mask-rcnn_{_n}_fpn_ms-3x_coco'] = ('ConvNeSt', _arch, _dp, 1e-4, (0.95, _layers), 2, 'MaskRCNN', 36,
                                                 [27, 33], DETR)
    RECIPES[f'cascade-mask-rcnn_{_n}_fpn_ms-3x_coco'] = ('ConvNeSt', _arch, _dp, 2e-4, (0.7, _layers), 2,
                                                         *_CASCADE_3X, DETR)
# default suite: the configs with a published size except the largest (whose MACs count takes longest), and one
# build check per family without published sizes; the other builds are slow
SLOW_SIZES = {'cascade-mask-rcnn_replknet-XL-meg73m-pre_fpn_ms-3x_coco',
              'cascade-mask-rcnn_replknet-31L-in21k-pre_fpn_ms-3x_coco'}
FAST_BUILDS = {'mask-rcnn_uniconvnet-t_fpn_1x_coco', 'cascade-mask-rcnn_convnest-t_fpn_ms-3x_coco'}


def _size_params():
    return [n if n not in SLOW_SIZES and (ENTRIES[n].params is not None or n in FAST_BUILDS)
            else pytest.param(n, marks=pytest.mark.slow) for n in sorted(RECIPES)]


def config_path(name):
    return osp.join(ROOT, ENTRIES[name].config)


@functools.lru_cache(maxsize=None)
def _load(name):
    from mmengine.config import Config
    return Config.fromfile(config_path(name))


def load(name):
    """The named config (parsed once: mmdet's bases take seconds to read)."""
    return copy.deepcopy(_load(name))


def test_every_two_stage_config_has_a_recipe():
    assert sorted(ENTRIES) == sorted(RECIPES)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_config_states_its_recipe(name):
    backbone_type, arch, drop_path, lr, decay, batch, detector, epochs, steps, augment = RECIPES[name]
    entry = ENTRIES[name]
    cfg = load(name)
    assert cfg.default_scope == 'mmdet' and cfg.model.type == detector
    backbone = cfg.model.backbone
    assert (backbone.type, str(backbone.arch), backbone.drop_path_rate) == (f'largekernel.{backbone_type}', arch,
                                                                            drop_path)
    assert (entry.backbone, entry.arch) == (backbone_type, arch)
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=None, prefix='backbone.')
    assert tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert (cfg.model.neck.type, cfg.model.neck.out_channels, cfg.model.neck.num_outs) == ('FPN', 256, 5)
    if detector == 'CascadeRCNN':  # the 4conv1fc GIoU heads of the large-kernel recipes
        for head in cfg.model.roi_head.bbox_head:
            assert (head.type, head.num_shared_convs, head.norm_cfg.type) == ('ConvFCBBoxHead', 4, 'SyncBN')
            assert head.loss_bbox == dict(type='GIoULoss', loss_weight=10.0) and head.reg_decoded_bbox
    optim = cfg.optim_wrapper
    assert optim.optimizer == dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.05)
    assert 'clip_grad' not in optim
    if decay is None:
        assert 'constructor' not in optim
    else:
        assert optim.constructor == 'largekernel.LayerDecayOptimWrapperConstructor'
        assert optim.paramwise_cfg == dict(layer_decay_rate=decay[0], num_layers=decay[1])
    assert cfg.train_dataloader.batch_size == batch and cfg.auto_scale_lr.base_batch_size == 8 * batch
    warmup, multistep = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end) == ('LinearLR', 0.001, 500)
    assert (cfg.train_cfg.max_epochs, list(multistep.milestones), multistep.end) == (epochs, steps, epochs)
    types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    resize = {DETR: 'RandomChoice', MS: 'RandomResize', SS: 'Resize'}[augment]
    assert resize in types and not {'RandomChoice', 'RandomResize', 'Resize'} - {resize} & set(types)
    if augment == MS:
        (ms,) = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomResize']
        assert [tuple(s) for s in ms.scale] == [(1333, 480), (1333, 800)]
    test_resize = [t for t in cfg.test_dataloader.dataset.pipeline if t.type == 'Resize']
    assert [tuple(t.scale) for t in test_resize] == [(1333, 800)]


class TwoStageDummyForward(nn.Module):
    """The forward that mmdet's FLOPs counter of the papers' time runs (``forward_dummy``): backbone, neck and RPN on
    the image, then every box head on 1000 RoIs and every mask head on 100 (RoIAlign counts nothing)."""

    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, x):
        detector = self.detector
        detector.rpn_head(detector.extract_feat(x))
        for heads, rois, size in ((detector.roi_head.bbox_head, 1000, 7), (detector.roi_head.mask_head, 100, 14)):
            for head in heads if isinstance(heads, nn.ModuleList) else [heads]:
                head(torch.zeros(rois, 256, size, size, device=x.device))
        return x


def detector_macs(detector, height=800, width=1280):
    """MACs of the dummy forward; the mask heads' transposed convs (not nn.Conv2d) are added: input x out / groups."""
    deconv = [0]

    def hook(module, args, output):
        deconv[0] += args[0].numel() * module.out_channels * module.weight.shape[2:].numel() // module.groups

    handles = [m.register_forward_hook(hook) for m in detector.modules() if isinstance(m, nn.ConvTranspose2d)]
    try:
        macs = count_macs(TwoStageDummyForward(detector), inputs=torch.zeros(1, 3, height, width, device='meta'))
    finally:
        for h in handles:
            h.remove()
    return macs + deconv[0]


@pytest.mark.parametrize('name', _size_params())
def test_paper_size_detector_builds_with_the_published_size(name):
    """Every config builds at paper size (meta device); its FPN takes the backbone's widths; where the paper publishes
    the detector's size, the deploy-form detector has it: params within 1% (0.5% against two-decimal references),
    MACs at 1280x800 within 1%."""
    need('mmdet.models')
    entry = ENTRIES[name]
    cfg = load(name)
    model = build(cfg, deploy=True, device='meta')
    with torch.no_grad():
        features = model.backbone.eval()(torch.zeros(1, 3, 64, 64, device='meta'))
    assert [f.shape[1] for f in features] == list(cfg.model.neck.in_channels)
    if entry.params is not None:
        rel = 0.005 if 'Parameters' in entry.reference else 0.01
        assert count_params(model) == pytest.approx(entry.target('Parameters'), rel=rel)
    if entry.flops is not None:  # ConvNeSt (Table 5) publishes FLOPs only
        with torch.no_grad():
            macs = detector_macs(model)
        assert macs == pytest.approx(entry.target('FLOPs'), rel=0.01)


# -- deploy twins ------------------------------------------------------------------------------------------------
DEPLOY_TWINS = {
    'cascade-mask-rcnn_replknet-31B_fpn_ms-3x_coco': 'cascade-mask-rcnn_replknet-31B-deploy_fpn_ms-3x_coco',
    'cascade-mask-rcnn_slak-t_fpn_ms-3x_coco': 'cascade-mask-rcnn_slak-t-deploy_fpn_ms-3x_coco',
    'cascade-mask-rcnn_shiftwise-tiny_fpn_ms-3x_coco': 'cascade-mask-rcnn_shiftwise-tiny-deploy_fpn_ms-3x_coco',
}


def twin_path(name):
    return osp.join(osp.dirname(config_path(name)), 'deploy', DEPLOY_TWINS[name] + '.py')


def test_deploy_twins_only_switch_the_backbone_form():
    from mmengine.config import Config
    for name in DEPLOY_TWINS:
        a, b = load(name), Config.fromfile(twin_path(name))
        assert b.model.backbone.deploy is True and b.model.backbone.init_cfg is None
        a.model.backbone.pop('init_cfg'), b.model.backbone.pop('init_cfg'), b.model.backbone.pop('deploy')
        assert a.to_dict() == b.to_dict()


# -- tiny runs on the COCO fixture ---------------------------------------------------------------------------------
# per family: the config, its tiny backbone (widths 16-128, as the neck of test_downstream.tiny_det expects), and the
# training-form keys that re-parameterisation removes (None: nothing to re-parameterise, deploy = same structure)
TINY_RUNS = {
    'replknet': ('cascade-mask-rcnn_replknet-31B_fpn_ms-3x_coco',
                 dict(arch=dict(large_kernel_sizes=(7, 7, 7, 5), layers=(1, 1, 1, 1), channels=(16, 32, 64, 128),
                                small_kernel=3)), ('lkb_origin', 'small_conv')),
    'slak': ('cascade-mask-rcnn_slak-t_fpn_ms-3x_coco',
             dict(arch=dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128), width_factor=1.0), kernel_sizes=(9, 9, 7, 7),
                  small_kernel=3), ('small_conv',)),
    'shiftwise': ('cascade-mask-rcnn_shiftwise-tiny_fpn_ms-3x_coco',
                  dict(arch=dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128)), kernel_sizes=(13, 11, 9, 7)),
                  ('mixer.bn_h', 'ffn_norm')),
    'uniconvnet': ('mask-rcnn_uniconvnet-t_fpn_1x_coco',
                   dict(arch=dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128), dcn_group_channels=8)), None),
    'convnest': ('mask-rcnn_convnest-t_fpn_ms-3x_coco', dict(arch=dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128))),
                 None),
}


def tiny_options(family, cfg):
    """test_downstream.tiny_det's fixture data and narrow heads, with this family's tiny backbone; for Mask R-CNN the
    single box head and sampler instead of the three cascade stages."""
    name, backbone, _ = TINY_RUNS[family]
    options = {k: v for k, v in tiny_det(cfg).items() if not k.startswith('model.backbone.')}
    options.update({f'model.backbone.{k}': dict(v, _delete_=True) if k == 'arch' else v for k, v in backbone.items()})
    options.update({'model.backbone.init_cfg': None, 'model.backbone.drop_path_rate': 0.0,
                    # mmengine keeps one visualizer per name, and writes a run's scalars to the first one's folder
                    'visualizer.name': f'visualizer_{family}'})
    if any(h.get('type') == 'largekernel.KeepSparsityHook' for h in cfg.get('custom_hooks', [])):
        options['custom_hooks.0.dense_finetune'] = True  # random (dense) tiny weights: no sparsity to keep
    if 'norm_cfg' in cfg.model.backbone:
        options['model.backbone.norm_cfg'] = BN
    if 'with_cp' in cfg.model.backbone:
        options['model.backbone.with_cp'] = False
    if cfg.model.type == 'MaskRCNN':
        options = {k: v for k, v in options.items()
                   if not k.startswith(('model.roi_head.bbox_head.', 'model.train_cfg.rcnn.'))}
        options.update({'model.roi_head.bbox_head.in_channels': 32, 'model.roi_head.bbox_head.fc_out_channels': 64,
                        'model.roi_head.bbox_head.num_classes': 2, 'model.train_cfg.rcnn.sampler.num': 64})
    return options


def tiny_config(family, tmp, deploy=False):
    from mmengine.config import Config
    name = TINY_RUNS[family][0]
    cfg = load(name)
    options = tiny_options(family, cfg)
    if deploy:
        cfg = Config.fromfile(twin_path(name)) if family in ('replknet', 'slak', 'shiftwise') else cfg
        options['model.backbone.deploy'] = True
    cfg.merge_from_dict(options)
    path = osp.join(tmp, ('deploy_' if deploy else '') + osp.basename(config_path(name)))
    cfg.dump(path)
    return path


def _family_params():
    # default suite: the UniConvNet Mask R-CNN run (the quickest); the others are slow
    return [f if f == 'uniconvnet' else pytest.param(f, marks=pytest.mark.slow) for f in FAMILIES]


@pytest.fixture(scope='module', params=_family_params())
def det_run(request, tmp_path_factory):
    need('mmdet.models')
    family = request.param
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp(family)
    config = tiny_config(family, str(tmp))
    work = str(tmp / 'work')
    tool('tools/train.py').main([config, '--work-dir', work, '--no-validate', '--cfg-options', 'randomness.seed=0'])
    with open(osp.join(work, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    return dict(family=family, tmp=tmp, config=config, work=work, checkpoint=checkpoint,
                batch=load(TINY_RUNS[family][0]).train_dataloader.batch_size)


def test_tiny_detector_trains_on_coco_fixture(det_run):
    losses = train_losses(det_run['work'])
    assert len(losses) == -(-5 // det_run['batch']) and all(np.isfinite(losses)), losses  # 5 images, one epoch
    assert osp.basename(det_run['checkpoint']) == 'epoch_1.pth'


def test_tiny_detector_test_reports_coco_metrics(det_run):
    out = str(det_run['tmp'] / 'predictions.pkl')
    metrics = tool('tools/test.py').main([det_run['config'], det_run['checkpoint'], '--work-dir', det_run['work'],
                                          '--out', out])
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert 0.0 <= metrics[key] <= 1.0, metrics
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 5
    for pred in predictions:
        instances = pred['pred_instances']
        assert set(instances['labels'].tolist()) <= {0, 1}
        assert len(instances['masks']) == len(instances['bboxes']) == len(instances['scores'])


def test_reparameterized_detector_gives_the_same_features(det_run):
    from mmengine.config import Config
    family = det_run['family']
    out = str(det_run['tmp'] / 'deploy.pth')
    tool('tools/model_converters/reparameterize.py').main([det_run['config'], det_run['checkpoint'], out])
    deploy_config = tiny_config(family, str(det_run['tmp']), deploy=True)
    train_model, deploy_model = build(Config.fromfile(det_run['config'])), build(Config.fromfile(deploy_config))
    train_state = load_checkpoint(det_run['checkpoint'], map_location='cpu')['state_dict']
    deploy_state = load_checkpoint(out, map_location='cpu')['state_dict']
    train_model.load_state_dict(train_state, strict=True)
    deploy_model.load_state_dict(deploy_state, strict=True)  # the deploy form takes every key, and nothing else
    branches = TINY_RUNS[family][2]
    if branches is None:  # nothing to re-parameterise: the deploy form is the same structure
        assert deploy_state.keys() == train_state.keys()
    else:
        assert any(b in k for k in train_state for b in branches)
        assert not any(b in k for k in deploy_state for b in branches)
    assert {k for k in train_state if not k.startswith('backbone.')} == \
        {k for k in deploy_state if not k.startswith('backbone.')}
    image = fixture_image('quokka.jpg', (96, 64))
    with torch.no_grad():
        expected = train_model.eval().extract_feat(image)
        actual = deploy_model.eval().extract_feat(image)
    for e, a in zip(expected, actual, strict=True):
        assert torch.allclose(a, e, rtol=1e-4, atol=1e-4 * e.abs().max().item()), (a - e).abs().max()
