"""UniRepLKNet in mmdet / mmseg / mmdet3d: the downstream configs state the official recipes, have the published
model sizes (configs/unireplknet/metafile.yml), and build their detectors / segmentors under their own default
scope; the shared tools (train, test, reparameterize) run them on the committed real-image fixtures
(tests/data/downstream, made by tools/dataset_converters/make_downstream_fixtures.py) with a tiny UniRepLKNet. The
Cascade Mask R-CNN runs are marked slow; the UPerNet and FCOS3D runs take a few seconds each. NuScenesMetric is not
run: it needs the nuScenes database tables and six cameras per sample (the FCOS3D test checks the predictions
instead)."""
import copy
import glob
import importlib.util
import json
import os.path as osp
import pickle
import re

import numpy as np
import pytest
import torch

from largekernel.utils.model_index import get_model

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs', 'unireplknet')
DATA = osp.join(ROOT, 'tests', 'data', 'downstream')
TINY = dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128), kernel_sizes=((3,), (7,), (7,), (3,)))
TINY_DIMS = list(TINY['dims'])
BN = dict(type='BN', requires_grad=True)

DET_T = 'cascade-mask-rcnn_unireplknet-t_fpn_ms-3x_coco.py'
SEG_T = 'upernet_unireplknet-t_8xb2-160k_ade20k-512x512.py'
MONO3D_T = 'fcos3d_unireplknet-t_fpn_head-gn_8xb2-1x_nus-mono3d.py'
# official settings (the official detection configs): arch, drop path, layer decay, EMA hook
DET_RECIPES = {
    DET_T: ('T', 0.3, 0.8, False),
    'cascade-mask-rcnn_unireplknet-s_fpn_ms-3x_coco.py': ('S', 0.5, 0.8, False),
    'cascade-mask-rcnn_unireplknet-s-in21k-pre_fpn_ms-3x_coco.py': ('S', 0.5, 0.8, True),
    'cascade-mask-rcnn_unireplknet-b-in21k-pre_fpn_ms-3x_coco.py': ('B', 0.6, 0.8, True),
    'cascade-mask-rcnn_unireplknet-l-in21k-pre_fpn_ms-3x_coco.py': ('L', 0.7, 0.7, True),
    'cascade-mask-rcnn_unireplknet-xl-in21k-pre_fpn_ms-3x_coco.py': ('XL', 0.7, 0.7, True),
}
# official settings (the official segmentation configs): arch, drop path, with_cp, layer decay, num_layers, crop
SEG_RECIPES = {
    SEG_T: ('T', 0.2, False, 1.0, 9, 512),
    'upernet_unireplknet-s_8xb2-160k_ade20k-512x512.py': ('S', 0.3, True, 0.9, 12, 512),
    'upernet_unireplknet-s-in21k-pre_8xb2-160k_ade20k-512x512.py': ('S', 0.3, True, 0.9, 12, 512),
    'upernet_unireplknet-s-in21k-pre_8xb2-160k_ade20k-640x640.py': ('S', 0.3, True, 0.9, 12, 640),
    'upernet_unireplknet-b-in21k-pre_8xb2-160k_ade20k-640x640.py': ('B', 0.3, True, 0.9, 12, 640),
    'upernet_unireplknet-l-in21k-pre_8xb2-160k_ade20k-640x640.py': ('L', 0.4, True, 0.85, 12, 640),
}
DEPLOY_TWINS = {
    DET_T: 'deploy/cascade-mask-rcnn_unireplknet-t-deploy_fpn_ms-3x_coco.py',
    SEG_T: 'deploy/upernet_unireplknet-t-deploy_8xb2-160k_ade20k-512x512.py',
}


@pytest.fixture(scope='module', autouse=True)
def restore_default_scope():
    """The Runner and init_default_scope leave a global default scope (mmdet, mmseg, mmdet3d) behind, under which
    unscoped names of other test files would no longer resolve: drop the scopes this module created."""
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


def need(*modules):
    """Skip unless the OpenMMLab toolboxes (and mmcv's compiled ops) import."""
    for module in ('mmcv.ops', *modules):
        pytest.importorskip(module, reason=f'{module} is not importable in this environment')


def load(name):
    from mmengine.config import Config
    return Config.fromfile(osp.join(CONFIGS, name))


def shrink(pipeline, factor):
    """The same pipeline with every image scale / crop size divided by ``factor`` (for CPU tests)."""
    def scaled(size):
        return tuple(max(8, round(s / factor)) for s in size)

    def walk(node):
        if isinstance(node, list):
            return [walk(n) for n in node]
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key in ('scale', 'crop_size') and isinstance(value, (tuple, list)):
                    out[key] = scaled(value)
                elif key == 'scales':
                    out[key] = [scaled(v) for v in value]
                else:
                    out[key] = walk(value)
            return out
        return node
    return walk(copy.deepcopy(pipeline))


def tiny_backbone():
    return {'model.backbone.arch': dict(TINY, _delete_=True), 'model.backbone.norm_cfg': BN,
            'model.backbone.with_cp': False, 'model.backbone.init_cfg': None}


def loaders(train_pipeline, test_pipeline, **dataset):
    options = {}
    for split, pipeline in (('train', train_pipeline), ('val', test_pipeline), ('test', test_pipeline)):
        options.update({f'{split}_dataloader.num_workers': 0, f'{split}_dataloader.persistent_workers': False,
                        f'{split}_dataloader.dataset.pipeline': pipeline})
        options.update({f'{split}_dataloader.dataset.{k}': v for k, v in dataset.items()})
    return options


def tiny_det(cfg):
    """Cascade Mask R-CNN with a tiny backbone and narrow heads for the 2-class COCO fixture."""
    options = {**tiny_backbone(), 'model.neck.in_channels': TINY_DIMS, 'model.neck.out_channels': 32,
               'model.rpn_head.in_channels': 32, 'model.rpn_head.feat_channels': 32,
               'model.roi_head.bbox_roi_extractor.out_channels': 32,
               'model.roi_head.mask_roi_extractor.out_channels': 32,
               'model.roi_head.mask_head.in_channels': 32, 'model.roi_head.mask_head.conv_out_channels': 32,
               'model.roi_head.mask_head.num_classes': 2}
    for i in range(3):
        options.update({f'model.roi_head.bbox_head.{i}.{k}': v for k, v in dict(
            in_channels=32, conv_out_channels=32, fc_out_channels=64, num_classes=2, norm_cfg=BN).items()})
        options[f'model.train_cfg.rcnn.{i}.sampler.num'] = 64
    options.update({'model.train_cfg.rpn_proposal.nms_pre': 300, 'model.train_cfg.rpn_proposal.max_per_img': 200,
                    'model.test_cfg.rpn.nms_pre': 200, 'model.test_cfg.rpn.max_per_img': 100})
    options.update(loaders(shrink(cfg.train_dataloader.dataset.pipeline, 5),
                       shrink(cfg.test_dataloader.dataset.pipeline, 5),
                       data_root=DATA + '/', ann_file='coco_instances.json', data_prefix=dict(img='images/'),
                       metainfo=dict(classes=('nucleus', 'animal'))))
    options.update({'train_dataloader.dataset.filter_cfg': dict(filter_empty_gt=True, min_size=0),
                    'val_evaluator.ann_file': osp.join(DATA, 'coco_instances.json'),
                    'test_evaluator.ann_file': osp.join(DATA, 'coco_instances.json'),
                    'train_cfg.max_epochs': 1, 'default_hooks.logger.interval': 1})
    return options


def tiny_seg(cfg):
    """UPerNet with a tiny backbone and narrow heads on the ADE20K-style fixture (64 x 64 crops)."""
    options = {**tiny_backbone(), 'model.data_preprocessor.size': (64, 64),
               'model.decode_head.in_channels': TINY_DIMS, 'model.decode_head.channels': 32,
               'model.decode_head.norm_cfg': BN, 'model.auxiliary_head.in_channels': TINY_DIMS[2],
               'model.auxiliary_head.channels': 16, 'model.auxiliary_head.norm_cfg': BN}
    options.update(loaders(shrink(cfg.train_dataloader.dataset.pipeline, 8),
                       shrink(cfg.test_dataloader.dataset.pipeline, 8),
                       data_root=DATA, data_prefix=dict(img_path='images', seg_map_path='ade_annotations')))
    options.update({'train_cfg.max_iters': 2, 'default_hooks.logger.interval': 1})
    return options


def tiny_mono3d(cfg):
    """FCOS3D with a tiny backbone and narrow head on the nuScenes-style fixture. The fixture's images are 512 x 288,
    so the (1600, 900) resize of the recipe becomes (512, 288), a no-op as on real nuScenes images (mmdet.Resize
    would not rescale the projected centres)."""
    options = {**tiny_backbone(), 'model.backbone.frozen_stages': 1, 'model.neck.in_channels': TINY_DIMS,
               'model.neck.out_channels': 32, 'model.bbox_head.in_channels': 32,
               'model.bbox_head.feat_channels': 32, 'model.bbox_head.cls_branch': (32,),
               'model.bbox_head.reg_branch': ((32,), (32,), (32,), (32,), ()),
               'model.bbox_head.dir_branch': (32,), 'model.bbox_head.attr_branch': (32,)}
    options.update(loaders(shrink(cfg.train_dataloader.dataset.pipeline, 1600 / 512),
                       cfg.test_dataloader.dataset.pipeline,
                       data_root=osp.join(DATA, 'nuscenes') + '/', ann_file='nuscenes_infos_mono3d.pkl'))
    options.update({'train_cfg.max_epochs': 1, 'default_hooks.logger.interval': 1})
    return options


TINY_OPTIONS = {DET_T: tiny_det, SEG_T: tiny_seg, MONO3D_T: tiny_mono3d}


def tiny_config(name, tmp_path, config_name=None, extra=None):
    """Write the named config with the tiny overrides (as ``--cfg-options`` would apply them) to ``tmp_path``."""
    cfg = load(config_name or name)
    cfg.merge_from_dict({**TINY_OPTIONS[name](cfg), **(extra or {})})
    path = osp.join(tmp_path, osp.basename(config_name or name))
    cfg.dump(path)
    return path


def build(cfg, deploy=None, device='cpu'):
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(cfg.default_scope)
    model_cfg = copy.deepcopy(cfg.model)
    if deploy is not None:
        model_cfg.backbone.deploy = deploy
    with torch.device(device):
        return MODELS.build(model_cfg)


def count_params(module):
    return sum(p.numel() for p in module.parameters())


# -- (a) configs: the published recipes, and models that build under each toolbox's scope ----------------------------
@pytest.mark.parametrize('name', sorted(DET_RECIPES))
def test_cascade_config_states_the_official_recipe_and_builds(name):
    need('mmdet.models')
    from largekernel.models.backbones.unireplknet import UniRepLKNet
    arch, drop_path, decay, ema = DET_RECIPES[name]
    params = get_model(osp.splitext(name)[0]).params / 1e6  # published (M, paper Table 7)
    cfg = load(name)
    assert cfg.default_scope == 'mmdet'
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch, backbone.drop_path_rate) == ('largekernel.UniRepLKNet', arch, drop_path)
    assert backbone.norm_cfg.type == 'SyncBN' and backbone.with_cp and backbone.out_norms
    assert tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=None, prefix='backbone.')
    assert list(cfg.model.neck.in_channels) == list(UniRepLKNet.arch_zoo[arch]['dims'])
    assert (cfg.model.neck.out_channels, cfg.model.neck.num_outs) == (256, 5)
    stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]]
    for head, std in zip(cfg.model.roi_head.bbox_head, stds, strict=True):
        assert (head.type, head.num_shared_convs, head.num_shared_fcs, head.fc_out_channels) == \
            ('ConvFCBBoxHead', 4, 1, 1024)
        assert head.loss_bbox == dict(type='GIoULoss', loss_weight=10.0) and head.reg_decoded_bbox
        assert list(head.bbox_coder.target_stds) == std and head.norm_cfg.type == 'SyncBN'
    optim = cfg.optim_wrapper
    assert optim.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert optim.constructor == 'largekernel.LayerDecayOptimWrapperConstructor'
    assert optim.paramwise_cfg == dict(layer_decay_rate=decay, num_layers=12) and 'clip_grad' not in optim
    assert cfg.train_cfg.max_epochs == 36 and cfg.train_dataloader.batch_size == 2
    assert cfg.auto_scale_lr.base_batch_size == 16
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end, warmup.by_epoch) == ('LinearLR', 0.001, 500, False)
    assert (steps.type, list(steps.milestones), steps.gamma) == ('MultiStepLR', [27, 33], 0.1)
    choice = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomChoice'][0]
    assert [len(policy) for policy in choice.transforms] == [1, 3]
    assert choice.transforms[0][0].scales == [(s, 1333) for s in range(480, 801, 32)]
    assert choice.transforms[1][1].crop_size == (384, 600)
    hooks = [h for h in cfg.get('custom_hooks', []) if h.type == 'EMAHook']
    assert bool(hooks) == ema
    if ema:
        assert (hooks[0].ema_type, hooks[0].momentum, hooks[0].priority) == ('ExpMomentumEMA', 1e-4, 49)
    # the published size is the inference (deploy-form) detector's: within 1% (T 88.45M, S 112.99M, ... XL 443.21M)
    assert count_params(build(cfg, deploy=True, device='meta')) == pytest.approx(params * 1e6, rel=0.01)
    if name != DET_T:
        return
    cfg.merge_from_dict(tiny_det(cfg))
    model = build(cfg)
    assert type(model).__name__ == 'CascadeRCNN' and isinstance(model.backbone, UniRepLKNet)
    with torch.no_grad():
        features = model.eval().extract_feat(torch.randn(1, 3, 64, 96))
    assert [f.shape[-2:] for f in features] == [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]


@pytest.mark.parametrize('name', sorted(SEG_RECIPES))
def test_upernet_config_states_the_official_recipe_and_builds(name):
    need('mmseg.models')
    from largekernel.models.backbones.unireplknet import UniRepLKNet
    arch, drop_path, with_cp, decay, num_layers, crop = SEG_RECIPES[name]
    params = get_model(osp.splitext(name)[0]).params / 1e6  # published (M, paper Table 8)
    cfg = load(name)
    assert cfg.default_scope == 'mmseg' and cfg.model.pretrained is None
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch, backbone.drop_path_rate, backbone.with_cp) == \
        ('largekernel.UniRepLKNet', arch, drop_path, with_cp)
    assert backbone.norm_cfg.type == 'SyncBN' and tuple(backbone.out_indices) == (0, 1, 2, 3)
    dims = list(UniRepLKNet.arch_zoo[arch]['dims'])
    head, aux = cfg.model.decode_head, cfg.model.auxiliary_head
    assert (head.type, list(head.in_channels), head.channels, tuple(head.pool_scales), head.num_classes) == \
        ('UPerHead', dims, 512, (1, 2, 3, 6), 150)
    assert (aux.type, aux.in_index, aux.in_channels, aux.channels, aux.loss_decode.loss_weight) == \
        ('FCNHead', 2, dims[2], 256, 0.4)
    assert cfg.model.test_cfg.mode == 'whole' and cfg.model.data_preprocessor.size == (crop, crop)
    scale = (4 * crop, crop)
    assert [t.crop_size for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomCrop'] == [(crop, crop)]
    assert [t.scale for t in cfg.train_dataloader.dataset.pipeline if t.type == 'RandomResize'] == [scale]
    test_types = [t.type for t in cfg.test_dataloader.dataset.pipeline]
    assert test_types[1:3] == ['Resize', 'ResizeToMultiple'] and cfg.test_dataloader.dataset.pipeline[1].scale == scale
    optim = cfg.optim_wrapper
    assert optim.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
    assert optim.paramwise_cfg == dict(layer_decay_rate=decay, num_layers=num_layers)
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.begin, warmup.end) == ('LinearLR', 1e-6, 0, 1500)
    assert (poly.type, poly.power, poly.eta_min, poly.begin, poly.end) == ('PolyLR', 1.0, 0.0, 0, 160000)
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval, cfg.train_dataloader.batch_size) == (160000, 4000, 2)
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    # the published size is the inference segmentor's: deploy-form backbone, no auxiliary head (T 60.98M, ...)
    model = build(cfg, deploy=True, device='meta')
    assert count_params(model) - count_params(model.auxiliary_head) == pytest.approx(params * 1e6, rel=0.005)
    if name != SEG_T:
        return
    cfg.merge_from_dict(tiny_seg(cfg))
    model = build(cfg)
    assert type(model).__name__ == 'EncoderDecoder' and isinstance(model.backbone, UniRepLKNet)
    with torch.no_grad():
        logits = model.eval()(torch.randn(1, 3, 64, 96), mode='tensor')
    assert logits.shape == (1, 150, 16, 24)


def test_fcos3d_config_builds_fcos_mono3d():
    need('mmdet3d.models')
    from largekernel.models.backbones.unireplknet import UniRepLKNet
    cfg = load(MONO3D_T)
    assert cfg.default_scope == 'mmdet3d'
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch, backbone.frozen_stages, backbone.norm_eval) == \
        ('largekernel.UniRepLKNet', 'T', 1, True)
    assert 'depth' not in backbone and 'dcn' not in backbone  # the ResNet keys went with _delete_
    assert list(cfg.model.neck.in_channels) == [80, 160, 320, 640] and cfg.model.neck.start_level == 1
    assert cfg.model.data_preprocessor.bgr_to_rgb and list(cfg.model.data_preprocessor.std) == [58.395, 57.12, 57.375]
    cfg.merge_from_dict(tiny_mono3d(cfg))
    model = build(cfg)
    assert type(model).__name__ == 'FCOSMono3D' and isinstance(model.backbone, UniRepLKNet)
    model.train()
    frozen = [p.requires_grad for p in model.backbone.stages[0].parameters()]
    assert frozen and not any(frozen)
    assert not any(m.training for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_deploy_twins_only_switch_the_backbone_form():
    for train, deploy in DEPLOY_TWINS.items():
        a, b = load(train), load(deploy)
        assert b.model.backbone.deploy is True and b.model.backbone.init_cfg is None
        a.model.backbone.pop('init_cfg'), b.model.backbone.pop('init_cfg'), b.model.backbone.pop('deploy')
        assert a.to_dict() == b.to_dict()


# -- (b, c, d) the shared tools on the fixtures -------------------------------------------------------------------------
def tool(path):
    """A command-line tool's module (run in-process: one import of the toolboxes for all the runs)."""
    spec = importlib.util.spec_from_file_location('lk_' + osp.splitext(osp.basename(path))[0], osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_losses(work):
    """The total loss of every training iteration, from the scalars the Runner logged."""
    (scalars,) = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        return [record['loss'] for record in map(json.loads, f) if 'loss' in record]


def trained(tmp_path_factory, name, *modules, extra=(), options=None):
    need(*modules)
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp(name.split('_')[0])
    config = tiny_config(name, tmp, extra=options(tmp) if options else None)
    work = str(tmp / 'work')
    tool('tools/train.py').main([config, '--work-dir', work, '--no-validate', '--cfg-options', 'randomness.seed=0',
                                 *extra])
    with open(osp.join(work, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    return dict(tmp=tmp, config=config, work=work, checkpoint=checkpoint)


@pytest.fixture(scope='module')
def det_run(tmp_path_factory):
    # with the EMA hook of the 22K-pretrained recipes, to run mmdet's ExpMomentumEMA and reparameterize --use-ema too
    ema = load('cascade-mask-rcnn_unireplknet-s-in21k-pre_fpn_ms-3x_coco.py').custom_hooks
    return trained(tmp_path_factory, DET_T, 'mmdet.models', options=lambda tmp: {'custom_hooks': ema})


@pytest.fixture(scope='module')
def seg_run(tmp_path_factory):
    return trained(tmp_path_factory, SEG_T, 'mmseg.models')


@pytest.fixture(scope='module')
def mono3d_run(tmp_path_factory):
    # NuScenesMetric needs the nuScenes database tables (v1.0-*/*.json) and six cameras per sample, which the fixture
    # does not have: the test evaluator here only dumps the predictions
    dump = dict(_delete_=True, type='DumpResults', out_file_path=None)
    return trained(tmp_path_factory, MONO3D_T, 'mmdet3d.models', extra=['train_dataloader.batch_size=1'],
                   options=lambda tmp: {'test_evaluator': {**dump, 'out_file_path': str(tmp / 'mono3d.pkl')},
                                        'val_evaluator': {**dump, 'out_file_path': str(tmp / 'mono3d_val.pkl')}})


def check_training(run, iterations, checkpoint_name):
    losses = train_losses(run['work'])
    assert len(losses) == iterations and all(np.isfinite(losses)), losses
    assert osp.basename(run['checkpoint']) == checkpoint_name
    state = torch.load(run['checkpoint'], map_location='cpu', weights_only=False)['state_dict']
    assert any('dwconv.dil_conv_k' in k for k in state)  # the training form with its Dilated Reparam Blocks
    return state


@pytest.mark.slow
def test_train_cascade_mask_rcnn_on_coco_fixture(det_run):
    check_training(det_run, 3, 'epoch_1.pth')  # 5 images, batch 2
    checkpoint = torch.load(det_run['checkpoint'], map_location='cpu', weights_only=False)
    assert checkpoint['ema_state_dict']['steps'] == 3


@pytest.mark.slow
def test_test_cascade_mask_rcnn_reports_coco_metrics_and_dumps_predictions(det_run):
    out = str(det_run['tmp'] / 'det_predictions.pkl')
    metrics = tool('tools/test.py').main([det_run['config'], det_run['checkpoint'], '--work-dir', det_run['work'],
                                          '--out', out])
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP', 'coco/segm_mAP_50'):
        assert 0.0 <= metrics[key] <= 1.0, metrics
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 5
    for pred in predictions:
        instances = pred['pred_instances']
        assert set(instances['labels'].tolist()) <= {0, 1}
        assert len(instances['masks']) == len(instances['bboxes']) == len(instances['scores'])
        assert all(isinstance(m, dict) and 'counts' in m for m in instances['masks'])  # RLE, as mmdet's own --out


def test_train_upernet_on_ade_fixture(seg_run):
    check_training(seg_run, 2, 'iter_2.pth')


def test_test_upernet_reports_miou(seg_run):
    out = str(seg_run['tmp'] / 'seg_predictions.pkl')
    metrics = tool('tools/test.py').main([seg_run['config'], seg_run['checkpoint'], '--work-dir', seg_run['work'],
                                          '--out', out])
    for key in ('mIoU', 'aAcc', 'mAcc'):
        assert 0.0 <= metrics[key] <= 100.0, metrics
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 5
    for pred in predictions:  # label maps at the original resolution; logits and ground truth are not dumped
        assert tuple(pred['pred_sem_seg']['data'].shape[-2:]) == tuple(pred['ori_shape'])
        assert 'seg_logits' not in pred and 'gt_sem_seg' not in pred


def fixture_image(name, size):
    """A fixture photo as a normalised (1, 3, H, W) float tensor (ImageNet statistics, RGB)."""
    from PIL import Image
    image = np.asarray(Image.open(osp.join(DATA, 'images', name)).convert('RGB').resize(size), dtype=np.float32)
    image = (image - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]
    return torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None]


@pytest.mark.slow
def test_reparameterize_detector_and_load_into_deploy_twin(det_run):
    from mmengine.config import Config
    out = str(det_run['tmp'] / 'deploy.pth')
    tool('tools/model_converters/reparameterize.py').main([det_run['config'], det_run['checkpoint'], out])
    deploy_config = tiny_config(DET_T, det_run['tmp'], config_name=DEPLOY_TWINS[DET_T])
    train_model, deploy_model = build(Config.fromfile(det_run['config'])), build(Config.fromfile(deploy_config))
    train_state = torch.load(det_run['checkpoint'], map_location='cpu', weights_only=False)['state_dict']
    deploy_state = torch.load(out, map_location='cpu', weights_only=False)['state_dict']
    train_model.load_state_dict(train_state, strict=True)
    deploy_model.load_state_dict(deploy_state, strict=True)  # the twin takes every key, and nothing else
    assert not any('dil_conv' in k or 'origin_bn' in k or re.search(r'stages\.\d+\.\d+\.gamma$', k)
                   for k in deploy_state)  # DRB branches, their BNs and the layer scales are merged
    assert {k: v for k, v in train_state.items() if not k.startswith('backbone.')}.keys() == \
        {k for k in deploy_state if not k.startswith('backbone.')}
    image = fixture_image('quokka.jpg', (96, 64))
    with torch.no_grad():
        expected = train_model.eval().extract_feat(image)
        actual = deploy_model.eval().extract_feat(image)
    for e, a in zip(expected, actual, strict=True):
        assert torch.allclose(a, e, rtol=1e-4, atol=1e-4 * e.abs().max().item()), (a - e).abs().max()
    ema_out = str(det_run['tmp'] / 'deploy_ema.pth')
    tool('tools/model_converters/reparameterize.py').main([det_run['config'], det_run['checkpoint'], ema_out,
                                                           '--use-ema'])
    deploy_model.load_state_dict(torch.load(ema_out, map_location='cpu', weights_only=False)['state_dict'])


def test_train_fcos3d_on_nuscenes_fixture(mono3d_run):
    check_training(mono3d_run, 2, 'epoch_1.pth')  # 2 samples, batch 1


def test_test_fcos3d_predicts_3d_boxes(mono3d_run):
    tool('tools/test.py').main([mono3d_run['config'], mono3d_run['checkpoint'], '--work-dir', mono3d_run['work']])
    with open(mono3d_run['tmp'] / 'mono3d.pkl', 'rb') as f:
        predictions = pickle.load(f)
    assert [p['sample_idx'] for p in predictions] == [0, 1]  # dataset indices (mmengine's get_data_info sets them)
    for pred in predictions:
        boxes = pred['pred_instances_3d']
        assert type(boxes['bboxes_3d']).__name__ == 'CameraInstance3DBoxes'
        assert boxes['bboxes_3d'].tensor.shape[1] == 9  # x, y, z, l, h, w, yaw, vx, vz
        assert len(boxes['scores_3d']) == len(boxes['labels_3d']) == len(boxes['bboxes_3d'])
        assert set(boxes['labels_3d'].tolist()) <= set(range(10))


def test_nuscenes_fixture_is_geometrically_consistent():
    """The fixture's 2D boxes, centres and depths are mmdet3d's own projections of its 3D boxes."""
    need('mmdet3d.datasets')
    from mmdet3d.structures import CameraInstance3DBoxes, points_cam2img
    from mmengine.registry import DATASETS, init_default_scope
    cfg = load(MONO3D_T)
    cfg.merge_from_dict(tiny_mono3d(cfg))
    init_default_scope('mmdet3d')
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, pipeline=[]))
    assert len(dataset) == 2
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        ann, cam2img = info['ann_info'], torch.tensor(info['images']['CAM_FRONT']['cam2img'])
        boxes = ann['gt_bboxes_3d']
        assert isinstance(boxes, CameraInstance3DBoxes) and ann['gt_labels_3d'].tolist() == [0]  # car
        corners = points_cam2img(boxes.corners.reshape(-1, 3), cam2img).reshape(-1, 8, 2)
        width, height = 512, 288
        box_2d = torch.cat([corners.amin(1).clamp(min=0), corners.amax(1).clamp(max=torch.tensor([width, height]))], 1)
        assert torch.allclose(box_2d.float(), torch.tensor(ann['gt_bboxes']).float(), atol=1e-3)
        center = points_cam2img(boxes.gravity_center, cam2img, with_depth=True)
        assert torch.allclose(center[:, :2].float(), torch.tensor(ann['centers_2d']).float(), atol=1e-3)
        assert torch.allclose(center[:, 2].float(), torch.tensor(ann['depths']).float(), atol=1e-5)
