"""Single-stage and monocular 3D detection configs: RepLKNet-31B FCOS 2x, UniConvNet A-P2 RetinaNet 1x and SSDLite
(EMO's recipes), SW-small and UniRepLKNet-S FCOS3D (ShiftwiseConv Table 6's AdamW recipe; the UniRepLKNet-T
FCOS3D config keeps mmdet3d's SGD one).

(a) each config states its recipe; (b) each builds at paper size on the meta device and carries the published
ImageNet backbone (its classifier's size is the metafile's; none of these detector rows publishes a detector
size or FLOPs, see the metafiles); (c) a tiny FCOS (RepLKNet), RetinaNet (UniConvNet) and FCOS3D (ShiftWise) train
a few iterations on the committed fixtures through tools/train.py, are evaluated with tools/test.py and
re-parameterised with reparameterize.py, and give the same outputs in deploy form. NuScenesMetric is not run (see
tests/test_downstream.py: the fixture has no nuScenes database tables); the FCOS3D test dumps the predictions.
"""
import os.path as osp
import pickle
import re

import pytest
import torch
from test_downstream import (BN, DATA, build, count_params, fixture_image, loaders, need,  # noqa: F401
                             restore_default_scope, shrink, tiny_mono3d, tool, train_losses)

from largekernel.utils.model_index import find_model, get_model

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FCOS = 'configs/replknet/fcos_replknet-31b_fpn_gn-head_ms-640-800-2x_coco.py'
FCOS_DEPLOY = 'configs/replknet/deploy/fcos_replknet-31b-deploy_fpn_gn-head_ms-640-800-2x_coco.py'
LIGHT = {'a': (24, 48, 96, 192), 'p0': (32, 64, 128, 256), 'p1': (32, 64, 128, 256), 'p2': (32, 64, 128, 256)}
DROP_PATH = {'a': 0.05, 'p0': 0.05, 'p1': 0.05, 'p2': 0.08}  # the variants' ImageNet rates
RETINANET = {v: f'configs/uniconvnet/retinanet_uniconvnet-{v}_fpn_1x_coco.py' for v in LIGHT}
SSDLITE = {v: f'configs/uniconvnet/ssdlite_uniconvnet-{v}_8xb24-600e_coco.py' for v in LIGHT}
MONO3D_SW = 'configs/shiftwise/fcos3d_shiftwise-small_fpn_head-gn_8xb2-1x_nus-mono3d.py'
MONO3D_S = 'configs/unireplknet/fcos3d_unireplknet-s_fpn_head-gn_8xb2-1x_nus-mono3d.py'
MONO3D_T = 'configs/unireplknet/fcos3d_unireplknet-t_fpn_head-gn_8xb2-1x_nus-mono3d.py'
ALL = [FCOS, *RETINANET.values(), *SSDLITE.values(), MONO3D_SW, MONO3D_S]

TINY_DIMS = [16, 32, 64, 128]
TINY_REPLKNET = dict(large_kernel_sizes=(7, 7, 7, 5), layers=(1, 1, 1, 1), channels=tuple(TINY_DIMS), small_kernel=3)
TINY_UNICONVNET = dict(depths=(1, 1, 1, 1), dims=tuple(TINY_DIMS), dcn_group_channels=8)
TINY_SHIFTWISE = dict(depths=(1, 1, 1, 1), dims=tuple(TINY_DIMS))


def load(path):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, path))


def name_of(path):
    return osp.splitext(osp.basename(path))[0]


# -- (a) the recipes ---------------------------------------------------------------------------------------------------
def test_fcos_states_the_official_recipe():
    cfg = load(FCOS)
    assert cfg.default_scope == 'mmdet' and cfg.model.type == 'FCOS'
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch, backbone.drop_path_rate, backbone.norm_cfg.type) == \
        ('largekernel.RepLKNet', '31B', 0.5, 'SyncBN')
    assert backbone.with_cp and not backbone.out_norms and tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert 'depth' not in backbone and 'style' not in backbone  # the ResNet keys went with _delete_
    neck = cfg.model.neck
    assert (list(neck.in_channels), neck.start_level, neck.add_extra_convs, neck.relu_before_extra_convs) == \
        ([128, 256, 512, 1024], 1, 'on_output', True)
    assert cfg.model.data_preprocessor.bgr_to_rgb and list(cfg.model.data_preprocessor.std) == [58.395, 57.12, 57.375]
    optim = cfg.optim_wrapper
    assert optim.optimizer == dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert optim.paramwise_cfg == dict(norm_decay_mult=0.) and optim.clip_grad == dict(max_norm=35, norm_type=2)
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.factor, warmup.end) == ('ConstantLR', 1 / 3, 500)
    assert (list(steps.milestones), cfg.train_cfg.max_epochs, cfg.train_dataloader.batch_size) == ([16, 22], 24, 2)
    (resize,) = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomChoiceResize']
    assert resize.scales == [(1333, 640), (1333, 800)]
    twin = load(FCOS_DEPLOY)
    assert twin.model.backbone.deploy is True and twin.model.backbone.init_cfg is None
    for c in (cfg, twin):
        c.model.backbone.pop('init_cfg'), c.model.backbone.pop('deploy', None)
    assert cfg.to_dict() == twin.to_dict()


@pytest.mark.parametrize('variant', sorted(LIGHT))
def test_retinanet_states_emos_recipe(variant):
    cfg = load(RETINANET[variant])
    assert cfg.model.type == 'RetinaNet'
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch, backbone.drop_path_rate, backbone.frozen_stages) == \
        ('largekernel.UniConvNet', variant.upper(), DROP_PATH[variant], 1)
    assert tuple(backbone.out_indices) == (0, 1, 2, 3) and backbone.out_norms and 'depth' not in backbone
    neck = cfg.model.neck
    assert (tuple(neck.in_channels), neck.start_level, neck.add_extra_convs) == (LIGHT[variant], 1, 'on_input')
    optim = cfg.optim_wrapper
    assert optim.optimizer == dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert optim.paramwise_cfg == dict(custom_keys={'norm': dict(decay_mult=0.)}) and 'clip_grad' not in optim
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end) == ('LinearLR', 0.001, 500)
    assert (cosine.type, cosine.T_max, cosine.eta_min) == ('CosineAnnealingLR', 12, 0)
    assert (cfg.train_cfg.max_epochs, cfg.train_dataloader.batch_size, cfg.auto_scale_lr.base_batch_size) == \
        (12, 2, 16)


@pytest.mark.parametrize('variant', sorted(LIGHT))
def test_ssdlite_states_emos_recipe(variant):
    cfg = load(SSDLITE[variant])
    dims = LIGHT[variant]
    assert cfg.model.type == 'SingleStageDetector'
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch, backbone.drop_path_rate, tuple(backbone.out_indices)) == \
        ('largekernel.UniConvNet', variant.upper(), DROP_PATH[variant], (2, 3))
    levels = (dims[2], dims[3], 512, 256, 256, 128)
    assert tuple(cfg.model.neck.in_channels) == dims[2:] and tuple(cfg.model.neck.out_channels) == levels
    assert tuple(cfg.model.bbox_head.in_channels) == levels
    optim = cfg.optim_wrapper
    assert optim.optimizer == dict(type='AdamW', lr=1.2e-3, betas=(0.9, 0.999), weight_decay=0.05)
    assert optim.paramwise_cfg == dict(custom_keys={'norm': dict(decay_mult=0.)})
    data = cfg.train_dataloader
    assert (data.batch_size, data.dataset.type, data.dataset.times, cfg.train_cfg.max_epochs) == \
        (24, 'RepeatDataset', 5, 120)
    assert [t.scale for t in data.dataset.dataset.pipeline if t.type == 'Resize'] == [(320, 320)]


@pytest.mark.parametrize('path', [MONO3D_SW, MONO3D_S])
def test_fcos3d_states_the_published_adamw_recipe(path):
    cfg = load(path)
    assert cfg.default_scope == 'mmdet3d' and cfg.model.type == 'FCOSMono3D'
    backbone = cfg.model.backbone
    family, arch = ('largekernel.ShiftWise', 'small') if path == MONO3D_SW else ('largekernel.UniRepLKNet', 'S')
    assert (backbone.type, backbone.arch, backbone.drop_path_rate, backbone.layer_scale_init_value) == \
        (family, arch, 0.5, 1.0)
    assert backbone.norm_cfg == BN and 'frozen_stages' not in backbone and 'depth' not in backbone
    assert list(cfg.model.neck.in_channels) == [96, 192, 384, 768] and cfg.model.neck.start_level == 1
    optim = cfg.optim_wrapper
    assert optim.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert optim.constructor == 'largekernel.LayerDecayOptimWrapperConstructor'
    assert optim.paramwise_cfg == dict(layer_decay_rate=0.8, num_layers=12) and 'clip_grad' not in optim
    warmup, steps = cfg.param_scheduler
    assert (warmup.start_factor, warmup.end, list(steps.milestones), cfg.train_cfg.max_epochs) == \
        (1 / 3, 500, [8, 11], 12)
    assert cfg.model.bbox_head.dcn_on_last_conv and cfg.train_dataloader.batch_size == 2


def test_unireplknet_t_fcos3d_keeps_mmdet3ds_sgd_recipe():
    optim = load(MONO3D_T).optim_wrapper
    assert (optim.optimizer.type, optim.optimizer.lr, optim.clip_grad.max_norm) == ('SGD', 0.002, 35)
    assert 'constructor' not in optim


@pytest.mark.parametrize('path', ALL)
def test_metafile_lists_the_published_row(path):
    entry = get_model(name_of(path))
    assert entry.config == path and entry.params is None and entry.flops is None  # none published
    task, dataset, metric = ('Monocular 3D Object Detection', 'nuScenes', 'mAP') if 'fcos3d' in path else \
        ('Object Detection', 'COCO', 'box AP')
    if 'uniconvnet' in path:
        assert entry.results == ()  # not transcribed (metafile comment)
    else:
        assert 0 < entry.metric(task, dataset, metric) < 100


# -- (b) sizes at paper scale ------------------------------------------------------------------------------------------
def without_out_norms(backbone):
    return sum(p.numel() for n, p in backbone.named_parameters() if not re.match(r'norm\d+\.', n))


@pytest.mark.parametrize('path', ALL)
def test_builds_at_paper_size_with_the_published_imagenet_backbone(path):
    """The detector's backbone is the ImageNet model of the metafile: that classifier has the published size (in the
    form the paper counts), and the two backbones differ only in their output norms."""
    need('mmdet3d.models' if 'fcos3d' in path else 'mmdet.models')
    cfg = load(path)
    backbone_cfg = cfg.model.backbone
    family = backbone_cfg.type.split('.')[1]
    imagenet = find_model(family, str(backbone_cfg.arch), input_size=224)
    detector = build(cfg, deploy=True, device='meta')
    assert type(detector).__name__ == cfg.model.type and type(detector.backbone).__name__ == family
    classifier = build(load(imagenet.config), deploy=imagenet.params_form != 'training', device='meta')
    assert count_params(classifier) == pytest.approx(imagenet.target('Parameters'), rel=0.01)
    if imagenet.params_form == 'training':  # RepLKNet: the published count is the training form's
        detector = build(cfg, deploy=False, device='meta')
    assert without_out_norms(detector.backbone) == without_out_norms(classifier.backbone)
    assert detector.backbone.out_indices == tuple(backbone_cfg.out_indices)


# -- (c) runs on the fixtures ------------------------------------------------------------------------------------------
def tiny_backbone(arch, **extra):
    return {'model.backbone.arch': dict(arch, _delete_=True), 'model.backbone.init_cfg': None, **{
        f'model.backbone.{k}': v for k, v in extra.items()}}


def coco_fixture(cfg):
    options = loaders(shrink(cfg.train_dataloader.dataset.pipeline, 5), shrink(cfg.test_dataloader.dataset.pipeline, 5),
                      data_root=DATA + '/', ann_file='coco_instances.json', data_prefix=dict(img='images/'),
                      metainfo=dict(classes=('nucleus', 'animal')))
    options.update({'train_dataloader.dataset.filter_cfg': dict(filter_empty_gt=True, min_size=0),
                    'val_evaluator.ann_file': osp.join(DATA, 'coco_instances.json'),
                    'test_evaluator.ann_file': osp.join(DATA, 'coco_instances.json'),
                    'train_cfg.max_epochs': 1, 'default_hooks.logger.interval': 1})
    return options


def dense_head():
    return {'model.neck.in_channels': TINY_DIMS, 'model.neck.out_channels': 32, 'model.bbox_head.in_channels': 32,
            'model.bbox_head.feat_channels': 32, 'model.bbox_head.stacked_convs': 2,
            'model.bbox_head.num_classes': 2, 'model.test_cfg.score_thr': 0.0}  # a few iterations: low scores


def tiny_fcos(cfg):
    # GN in groups of 4 channels: the smallest level of the fixture's images is 1 x 1
    return {**tiny_backbone(TINY_REPLKNET, norm_cfg=BN, with_cp=False), **dense_head(), **coco_fixture(cfg),
            'model.bbox_head.norm_cfg': dict(type='GN', num_groups=8, requires_grad=True)}


def tiny_retinanet(cfg):
    return {**tiny_backbone(TINY_UNICONVNET), **dense_head(), **coco_fixture(cfg)}


def tiny_fcos3d(cfg):
    options = tiny_mono3d(cfg)  # the UniRepLKNet FCOS3D fixture options, with a tiny ShiftWise instead
    options.update(tiny_backbone(TINY_SHIFTWISE, kernel_sizes=(13, 11, 9, 7), norm_cfg=BN, with_cp=False))
    return options


def tiny_config(path, options, tmp, extra=None):
    cfg = load(path)
    cfg.merge_from_dict({**options(cfg), **(extra or {})})
    out = osp.join(tmp, osp.basename(path))
    cfg.dump(out)
    return out


def run(tmp_path_factory, path, options, *modules, extra=None, train_args=()):
    need(*modules)
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp(name_of(path).split('_')[0])
    # mmdet's runtime names its visualizer 'visualizer': one instance per process, which would log the second run's
    # scalars into the first run's directory
    config = tiny_config(path, options, tmp, extra={'visualizer.name': f'visualizer_{tmp.name}',
                                                   **(extra(tmp) if extra else {})})
    work = str(tmp / 'work')
    tool('tools/train.py').main([config, '--work-dir', work, '--no-validate', '--cfg-options', 'randomness.seed=0',
                                 *train_args])
    with open(osp.join(work, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    deploy = str(tmp / 'deploy.pth')
    tool('tools/model_converters/reparameterize.py').main([config, checkpoint, deploy])
    return dict(tmp=tmp, config=config, work=work, checkpoint=checkpoint, deploy=deploy, options=options)


@pytest.fixture(scope='module')
def fcos_run(tmp_path_factory):
    return run(tmp_path_factory, FCOS, tiny_fcos, 'mmdet.models')


@pytest.fixture(scope='module')
def retinanet_run(tmp_path_factory):
    return run(tmp_path_factory, RETINANET['a'], tiny_retinanet, 'mmdet.models')


@pytest.fixture(scope='module')
def fcos3d_run(tmp_path_factory):
    dump = dict(_delete_=True, type='DumpResults', out_file_path=None)
    # the tiny backbone starts from random (dense) weights: nothing sparse for the config's KeepSparsityHook to keep
    return run(tmp_path_factory, MONO3D_SW, tiny_fcos3d, 'mmdet3d.models',
               train_args=['train_dataloader.batch_size=1', 'custom_hooks.0.dense_finetune=True'],
               extra=lambda tmp: {'test_evaluator': {**dump, 'out_file_path': str(tmp / 'mono3d.pkl')},
                                  'val_evaluator': {**dump, 'out_file_path': str(tmp / 'mono3d_val.pkl')}})


def check_training(run_, iterations):
    losses = train_losses(run_['work'])
    assert len(losses) == iterations and all(torch.isfinite(torch.tensor(losses))), losses
    assert osp.basename(run_['checkpoint']) == 'epoch_1.pth'


def head_outputs(model, image):
    """The dense head's raw outputs (every level of every branch) as one flat list of tensors."""
    with torch.no_grad():
        outputs = model.eval().bbox_head(model.neck(model.backbone(image)))
    flat = []

    def walk(node):
        if isinstance(node, (list, tuple)):
            for n in node:
                walk(n)
        elif node is not None:
            flat.append(node)
    walk(outputs)
    return flat


def check_deploy_form(run_, deploy_config=None, merged=None):
    """The re-parameterised checkpoint loads strictly into the deploy form (the twin config where given) and gives
    the training form's head outputs on a fixture photo."""
    from mmengine.config import Config
    train_cfg = Config.fromfile(run_['config'])
    train_model = build(train_cfg)
    train_model.load_state_dict(torch.load(run_['checkpoint'], map_location='cpu', weights_only=False)['state_dict'])
    if deploy_config:
        deploy_model = build(Config.fromfile(tiny_config(deploy_config, run_['options'], run_['tmp'])))
    else:
        deploy_model = build(train_cfg, deploy=True)
    deploy_state = torch.load(run_['deploy'], map_location='cpu', weights_only=False)['state_dict']
    deploy_model.load_state_dict(deploy_state, strict=True)
    if merged:
        train_keys = set(train_model.state_dict())
        assert any(re.search(merged, k) for k in train_keys) and not any(re.search(merged, k) for k in deploy_state)
    image = fixture_image('quokka.jpg', (256, 160))  # 2 x 2 at stride 128: the head's GroupNorms need > 1 value
    expected, actual = head_outputs(train_model, image), head_outputs(deploy_model, image)
    assert len(expected) == len(actual) > 0
    for e, a in zip(expected, actual, strict=True):
        assert torch.allclose(a, e, rtol=1e-4, atol=1e-4 * max(e.abs().max().item(), 1.0)), (a - e).abs().max()


def check_coco_test(run_, config=None, checkpoint=None):
    out = str(run_['tmp'] / f'predictions_{len(list(run_["tmp"].glob("predictions_*")))}.pkl')
    metrics = tool('tools/test.py').main([config or run_['config'], checkpoint or run_['checkpoint'], '--work-dir',
                                          run_['work'], '--out', out])
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50'):
        assert 0.0 <= metrics[key] <= 1.0, metrics
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 5
    for pred in predictions:
        instances = pred['pred_instances']
        assert set(instances['labels'].tolist()) <= {0, 1} and len(instances['bboxes']) == len(instances['scores'])
    return metrics


def test_fcos_trains_tests_and_reparameterizes(fcos_run):
    check_training(fcos_run, 3)  # 5 images, batch 2
    check_coco_test(fcos_run)
    check_deploy_form(fcos_run, deploy_config=FCOS_DEPLOY, merged=r'^backbone\..*\.bn\.weight$')  # BNs folded
    deploy_config = tiny_config(FCOS_DEPLOY, fcos_run['options'], fcos_run['tmp'])
    check_coco_test(fcos_run, config=deploy_config, checkpoint=fcos_run['deploy'])  # the tool takes the twin


def test_retinanet_trains_tests_and_reparameterizes(retinanet_run):
    check_training(retinanet_run, 3)
    check_coco_test(retinanet_run)
    check_deploy_form(retinanet_run)  # UniConvNet has nothing to merge: the deploy form is the same network


def test_fcos3d_trains_predicts_3d_boxes_and_reparameterizes(fcos3d_run):
    check_training(fcos3d_run, 2)  # 2 samples, batch 1
    tool('tools/test.py').main([fcos3d_run['config'], fcos3d_run['checkpoint'], '--work-dir', fcos3d_run['work']])
    with open(fcos3d_run['tmp'] / 'mono3d.pkl', 'rb') as f:
        predictions = pickle.load(f)
    assert [p['sample_idx'] for p in predictions] == [0, 1]
    for pred in predictions:
        boxes = pred['pred_instances_3d']
        assert type(boxes['bboxes_3d']).__name__ == 'CameraInstance3DBoxes' and boxes['bboxes_3d'].tensor.shape[1] == 9
        assert len(boxes['scores_3d']) == len(boxes['labels_3d']) == len(boxes['bboxes_3d'])
    check_deploy_form(fcos3d_run, merged=r'^backbone\..*\.mixer\.bn_h\.')
