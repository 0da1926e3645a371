"""The segmentation configs of RepLKNet, SLaK, ShiftwiseConv, UniConvNet, ConvNeSt (and UniRepLKNet-XL): the recipes
they state, the published segmentor sizes (params and FLOPs from the families' metafile.yml), the multi-scale + flip
test of ``tools/test.py --tta``, and, per family, a tiny segmentor that trains on the ADE20K-style fixture
(tests/data/downstream) through tools/train.py, evaluates with tools/test.py (with and without --tta), is
re-parameterised with reparameterize.py and predicts the same in deploy form."""
import copy
import glob
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config

from largekernel.utils.complexity import count_macs, count_params
from largekernel.utils.model_index import get_model
from largekernel.utils.sparsity import sparse_param_count
from test_downstream import (DATA, ROOT, build, fixture_image, loaders, need, restore_default_scope,  # noqa: F401
                             shrink, tool, train_losses)

BN = dict(type='BN', requires_grad=True)
DIMS = [16, 32, 64, 128]
FAMILIES = ('replknet', 'slak', 'shiftwise', 'uniconvnet', 'convnest')
NEW = sorted(osp.splitext(osp.basename(p))[0] for family in FAMILIES
             for p in glob.glob(osp.join(ROOT, 'configs', family, '*.py'))
             if osp.basename(p).startswith(('upernet_', 'deeplabv3_', 'pspnet_'))) + \
    ['upernet_unireplknet-xl-in21k-pre_8xb2-160k_ade20k-640x640']
RATIOS = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
STAGE_WISE = dict(layer_decay_rate=0.9, num_layers=6, decay_type='stage_wise')
# the recipe each family's paper / official config states: (lr, paramwise_cfg, test mode, window, images per GPU,
# iterations)
RECIPES = {
    'upernet_replknet-31b_8xb4-160k_ade20k-512x512': (2e-4, dict(norm_decay_mult=0.0), 'whole', None, 4, 160000),
    'upernet_replknet-31b-in21k-pre_8xb4-160k_ade20k-640x640':
        (2e-4, dict(norm_decay_mult=0.0), 'slide', ((640, 640), (426, 426)), 4, 160000),
    'upernet_replknet-31l-in21k-pre_8xb4-160k_ade20k-640x640':
        (2e-4, dict(norm_decay_mult=0.0), 'slide', ((640, 640), (426, 426)), 4, 160000),
    'upernet_replknet-xl-meg73m-pre_8xb2-160k_ade20k-640x640':
        (2e-4, dict(norm_decay_mult=0.0), 'slide', ((640, 640), (426, 426)), 2, 160000),
    'upernet_replknet-31b_8xb2-80k_cityscapes-769x769':
        (2e-4, dict(norm_decay_mult=0.0), 'slide', ((769, 769), (513, 513)), 2, 80000),
    **{f'upernet_slak-{a}_8xb2-160k_ade20k-512x512': (1e-4, STAGE_WISE, 'slide', ((512, 512), (341, 341)), 2, 160000)
       for a in 'tsb'},
    **{f'upernet_shiftwise-{a}_8xb2-160k_ade20k-512x512':
       (1e-4, dict(layer_decay_rate=1.0, num_layers=9), 'slide', ((512, 512), (341, 341)), 2, 160000)
       for a in ('tiny', 'small')},
    **{f'upernet_convnest-{a}_8xb2-160k_ade20k-512x512':
       (1e-4, STAGE_WISE, 'slide', ((512, 512), (341, 341)), 2, 160000) for a in 'afpntsb'},
    **{f'upernet_uniconvnet-{a}_8xb2-160k_ade20k-512x512':
       (6e-5, dict(layer_decay_rate=1.0, num_layers=12), 'whole', None, 2, 160000)
       for a in ('n2', 'n3', 't', 's', 'b')},
    'upernet_uniconvnet-l-in21k-pre_8xb2-160k_ade20k-640x640':
        (2e-5, dict(layer_decay_rate=1.0, num_layers=12), 'whole', None, 2, 160000),
    **{f'{algo}_uniconvnet-{a}_8xb4-160k_ade20k-512x512': (1.2e-4, dict(norm_decay_mult=0.0), 'whole', None, 4, 160000)
       for algo in ('deeplabv3', 'pspnet') for a in ('a', 'p0', 'p1', 'p2')},
    'upernet_unireplknet-xl-in21k-pre_8xb2-160k_ade20k-640x640':
        (1e-4, dict(layer_decay_rate=0.85, num_layers=12), 'whole', None, 2, 160000),
}
# whole-million published counts: within rounding (0.5M) or 1%; ConvNeSt-F's 33M is 0.7M above the architecture
# its Table 2 describes (32.29M, the same count that reproduces its FLOPs exactly)
PARAMS_TOLERANCE = {'upernet_convnest-f_8xb2-160k_ade20k-512x512': 0.8e6}
# SLaK publishes sparse counts without saying which layers it counts; the 40%-sparse backbone + dense heads is within 5%
SPARSE_REL = 0.05


def path_of(name):
    family = name.split('_')[1].split('-')[0]
    return osp.join(ROOT, 'configs', family, name + '.py')


def load(name):
    return Config.fromfile(path_of(name))


def test_every_new_config_has_a_recipe_and_a_metafile_entry():
    assert sorted(NEW) == sorted(RECIPES)
    for name in NEW:
        assert get_model(name).config == osp.relpath(path_of(name), ROOT)


@pytest.mark.parametrize('name', NEW)
def test_config_states_the_recipe_and_its_multi_scale_test(name):
    lr, paramwise, mode, window, batch, iters = RECIPES[name]
    cfg = load(name)
    assert cfg.default_scope == 'mmseg' and cfg.model.pretrained is None
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=None, prefix='backbone.')
    assert tuple(cfg.model.backbone.out_indices) == (0, 1, 2, 3)
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'AdamW' and optim.optimizer.lr == lr and optim.paramwise_cfg == paramwise
    assert cfg.model.test_cfg.mode == mode
    if window:
        assert (tuple(cfg.model.test_cfg.crop_size), tuple(cfg.model.test_cfg.stride)) == window
    assert (cfg.train_dataloader.batch_size, cfg.train_cfg.max_iters) == (batch, iters)
    assert cfg.param_scheduler[-1].type == 'PolyLR' and cfg.param_scheduler[-1].end == iters
    # the multi-scale + flip test: the single-scale test size x 0.5 ... 1.75, each plain and flipped
    test_scale = [t.scale for t in cfg.test_dataloader.dataset.pipeline if t.type == 'Resize'][0]
    assert cfg.tta_model.type == 'SegTTAModel'
    load_image, augment = cfg.tta_pipeline[:2]
    assert load_image.type == 'LoadImageFromFile' and augment.type == 'TestTimeAug'
    resizes, flips = augment.transforms[:2]
    assert [tuple(t.scale) for t in resizes] == [(int(test_scale[0] * r), int(test_scale[1] * r)) for r in RATIOS]
    assert [(t.type, t.prob) for t in flips] == [('RandomFlip', 0.0), ('RandomFlip', 1.0)]
    test_types = [t.type for t in cfg.test_dataloader.dataset.pipeline]
    tta_types = [t.type for step in augment.transforms[2:] for t in step]
    assert tta_types == test_types[2:]  # the same steps after the resize as the single-scale test


# one per family in the default run (meta device, a few seconds each), the rest with -m slow
FAST = {'upernet_replknet-31b_8xb4-160k_ade20k-512x512', 'upernet_slak-t_8xb2-160k_ade20k-512x512',
        'upernet_shiftwise-tiny_8xb2-160k_ade20k-512x512', 'upernet_convnest-f_8xb2-160k_ade20k-512x512',
        'upernet_unireplknet-xl-in21k-pre_8xb2-160k_ade20k-640x640'}
PUBLISHED = [n if n in FAST else pytest.param(n, marks=pytest.mark.slow)
             for n in NEW if get_model(n).params is not None]


@pytest.mark.parametrize('name', PUBLISHED)
def test_published_params_and_flops(name):
    """The inference segmentor (no auxiliary head) at paper size, on the meta device: the metafile's params (in the
    paper's form) and FLOPs (multiply-accumulates at its input size, e.g. SW-tiny 62M / 948G at 2048x512)."""
    need('mmseg.models')
    entry = get_model(name)
    cfg = load(name)
    model = build(cfg, deploy=entry.params_form != 'training', device='meta')
    heads = count_params(model) - count_params(model.backbone) - count_params(model.auxiliary_head)
    if entry.params_form == 'sparse':  # SLaK: the non-zero weights of its sparse backbone
        params = heads + sparse_param_count(build(cfg, device='meta').backbone, density=1 - entry.sparsity)
        assert params == pytest.approx(entry.target('Parameters'), rel=SPARSE_REL)
        return  # its FLOPs are the sparse model's (checked for the backbones in test_slak.py)
    params = heads + count_params(model.backbone)
    tolerance = PARAMS_TOLERANCE.get(name, max(0.5e6, 0.01 * entry.target('Parameters')))
    assert abs(params - entry.target('Parameters')) <= tolerance, params
    width, height = map(int, entry.input_size.split('x'))
    with torch.device('meta'):
        macs = count_macs(build(cfg, deploy=True, device='meta'), inputs=torch.zeros(1, 3, height, width))
    assert macs == pytest.approx(entry.target('FLOPs'), rel=0.01)


def test_deploy_twins_only_switch_the_backbone_form():
    twins = sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'deploy', '*.py')))
    twins = [t for t in twins if osp.basename(t).replace('-deploy', '', 1)[:-3] in NEW]
    assert len(twins) == 3
    for twin in twins:
        a = load(osp.basename(twin).replace('-deploy', '', 1)[:-3])
        b = Config.fromfile(twin)
        assert b.model.backbone.deploy is True and b.model.backbone.init_cfg is None
        a.model.backbone.pop('init_cfg'), b.model.backbone.pop('init_cfg'), b.model.backbone.pop('deploy')
        assert a.to_dict() == b.to_dict()


# -- tools/test.py --tta ----------------------------------------------------------------------------------------------
def test_tta_without_a_pipeline_stops_with_an_error():
    apply_tta = tool('tools/test.py').apply_tta
    cfg = load('upernet_slak-t_8xb2-160k_ade20k-512x512')
    cfg.pop('tta_pipeline')
    with pytest.raises(ValueError, match=r'--tta: x\.py states no tta_pipeline; add them'):
        apply_tta(cfg, 'x.py')
    cfg = Config(dict(model=dict(type='CascadeRCNN', roi_head=dict(mask_head=[dict(type='FCNMaskHead')])),
                      tta_model=dict(type='DetTTAModel'), tta_pipeline=[dict(type='LoadImageFromFile')],
                      test_dataloader=dict(dataset=dict(pipeline=[]))))
    with pytest.raises(ValueError, match="predicts masks, which mmdet's DetTTAModel cannot merge"):
        apply_tta(cfg, 'det.py')


def test_tta_wraps_the_model_and_replaces_the_test_pipeline():
    """Segmentation (SegTTAModel) and a box detector (mmdet's DetTTAModel) behind a dataset wrapper."""
    apply_tta = tool('tools/test.py').apply_tta
    cfg = load('upernet_shiftwise-tiny_8xb2-160k_ade20k-512x512')
    model, val_pipeline = copy.deepcopy(cfg.model), copy.deepcopy(cfg.val_dataloader.dataset.pipeline)
    apply_tta(cfg, 'sw.py')
    assert cfg.model.type == 'SegTTAModel' and cfg.model.module == model
    assert cfg.test_dataloader.dataset.pipeline == cfg.tta_pipeline
    assert cfg.val_dataloader.dataset.pipeline == val_pipeline  # validation during training keeps its pipeline
    tta = [dict(type='LoadImageFromFile'), dict(type='TestTimeAug', transforms=[[dict(type='RandomFlip', prob=1.0)]])]
    det = Config(dict(model=dict(type='FCOS'), tta_pipeline=tta,
                      tta_model=dict(type='DetTTAModel', tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5))),
                      test_dataloader=dict(dataset=dict(type='ClassBalancedDataset', dataset=dict(pipeline=[])))))
    apply_tta(det, 'fcos.py')
    assert det.model.type == 'DetTTAModel' and det.model.module == dict(type='FCOS')
    assert det.test_dataloader.dataset.dataset.pipeline == tta


# -- runs: a tiny segmentor per family on the ADE20K fixture ----------------------------------------------------------
TINY = {  # family: (config, tiny backbone, deploy twin or None = the config with backbone.deploy=True)
    'replknet': ('upernet_replknet-31b_8xb4-160k_ade20k-512x512',
                 dict(arch=dict(large_kernel_sizes=(7, 7, 5, 3), layers=(1, 1, 1, 1), channels=DIMS, small_kernel=3),
                      norm_cfg=BN), 'deploy/upernet_replknet-31b-deploy_8xb4-160k_ade20k-512x512.py'),
    'slak': ('upernet_slak-t_8xb2-160k_ade20k-512x512',
             dict(arch=dict(depths=(1, 1, 1, 1), dims=DIMS, width_factor=1.0), kernel_sizes=(7, 7, 7, 7),
                  small_kernel=3, norm_cfg=BN), 'deploy/upernet_slak-t-deploy_8xb2-160k_ade20k-512x512.py'),
    'shiftwise': ('upernet_shiftwise-tiny_8xb2-160k_ade20k-512x512',
                  dict(arch=dict(depths=(1, 1, 1, 1), dims=DIMS), kernel_sizes=(7, 7, 7, 7), small_kernel=3,
                       norm_cfg=BN), 'deploy/upernet_shiftwise-tiny-deploy_8xb2-160k_ade20k-512x512.py'),
    'uniconvnet': ('upernet_uniconvnet-t_8xb2-160k_ade20k-512x512',
                   dict(arch=dict(depths=(1, 1, 1, 1), dims=DIMS, dcn_group_channels=8)), None),
    'convnest': ('upernet_convnest-t_8xb2-160k_ade20k-512x512', dict(arch=dict(depths=(1, 1, 1, 1), dims=DIMS)), None),
}


def tiny_options(cfg, backbone):
    """A tiny backbone and narrow heads on the fixture: images and windows / 8 (64 x 64 crops)."""
    options = {'model.backbone.init_cfg': None, 'model.backbone.arch': dict(backbone['arch'], _delete_=True),
               **{f'model.backbone.{k}': v for k, v in backbone.items() if k != 'arch'},
               'model.data_preprocessor.size': (64, 64), 'model.decode_head.in_channels': DIMS,
               'model.decode_head.channels': 32, 'model.decode_head.norm_cfg': BN,
               'model.auxiliary_head.in_channels': DIMS[2], 'model.auxiliary_head.channels': 16,
               'model.auxiliary_head.norm_cfg': BN, 'tta_pipeline': shrink(cfg.tta_pipeline, 8),
               'train_cfg.max_iters': 2, 'default_hooks.logger.interval': 1}
    if cfg.model.test_cfg.mode == 'slide':
        options['model.test_cfg'] = dict(mode='slide', crop_size=(64, 64), stride=(43, 43))
    if any(h.get('type') == 'largekernel.KeepSparsityHook' for h in cfg.get('custom_hooks', [])):
        options['custom_hooks.0.dense_finetune'] = True  # random (dense) tiny weights: no sparsity to keep
    options.update(loaders(shrink(cfg.train_dataloader.dataset.pipeline, 8),
                           shrink(cfg.test_dataloader.dataset.pipeline, 8),
                           data_root=DATA, data_prefix=dict(img_path='images', seg_map_path='ade_annotations')))
    return options


def tiny_config(path, tmp, backbone, deploy=False):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(tiny_options(cfg, backbone))
    if deploy:
        cfg.model.backbone.deploy = True
    # a visualizer of its own: mmseg's runtime names every one 'visualizer', and mmengine hands a later Runner the
    # existing instance (with the first run's log directory)
    cfg.visualizer.name = 'lk_' + osp.splitext(osp.basename(path))[0]
    out = osp.join(tmp, ('deploy_' if deploy else '') + osp.basename(path))
    cfg.dump(out)
    return out


# SLaK's run in the default suite (about a minute on one CPU thread), the other families with -m slow
@pytest.fixture(scope='module',
                params=[f if f == 'slak' else pytest.param(f, marks=pytest.mark.slow) for f in sorted(TINY)])
def seg_run(request, tmp_path_factory):
    need('mmseg.models')
    torch.set_num_threads(1)
    family = request.param
    name, backbone, twin = TINY[family]
    tmp = tmp_path_factory.mktemp(family)
    config = tiny_config(path_of(name), tmp, backbone)
    work = str(tmp / 'work')
    tool('tools/train.py').main([config, '--work-dir', work, '--no-validate', '--cfg-options', 'randomness.seed=0'])
    with open(osp.join(work, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    deploy = tiny_config(osp.join(ROOT, 'configs', family, twin), tmp, backbone) if twin else \
        tiny_config(path_of(name), tmp, backbone, deploy=True)
    return dict(family=family, tmp=tmp, config=config, deploy=deploy, work=work, checkpoint=checkpoint)


def test_tiny_segmentor_trains_tests_with_and_without_tta_and_reparameterizes(seg_run):
    from mmengine.registry import DATASETS, init_default_scope
    losses = train_losses(seg_run['work'])
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses))), losses
    assert osp.basename(seg_run['checkpoint']) == 'iter_2.pth'
    test = tool('tools/test.py')
    metrics = test.main([seg_run['config'], seg_run['checkpoint'], '--work-dir', seg_run['work']])
    assert 0.0 <= metrics['mIoU'] <= 100.0, metrics
    out = str(seg_run['tmp'] / 'tta.pkl')
    metrics = test.main([seg_run['config'], seg_run['checkpoint'], '--work-dir', seg_run['work'], '--tta',
                         '--out', out])
    assert 0.0 <= metrics['mIoU'] <= 100.0, metrics
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 5
    for pred in predictions:  # merged label maps at the original resolution
        assert tuple(pred['pred_sem_seg']['data'].shape[-2:]) == tuple(pred['ori_shape'])
    # the augmented views are the config's: 6 scales x (plain, flipped) of the test scale
    cfg = test.apply_tta(Config.fromfile(seg_run['config']), seg_run['config'])
    init_default_scope('mmseg')
    views = DATASETS.build(cfg.test_dataloader.dataset)[0]
    scales = [t.scale for t in cfg.tta_pipeline[1].transforms[0]]
    assert len(views['inputs']) == 12
    assert [s.flip for s in views['data_samples']] == [False, True] * 6
    for sample, (w, h) in zip(views['data_samples'][::2], scales):
        ih, iw = sample.ori_shape
        scale = min(max(w, h) / max(ih, iw), min(w, h) / min(ih, iw))  # mmcv's keep-ratio rescale
        assert tuple(sample.img_shape[:2]) == pytest.approx((ih * scale, iw * scale), abs=33)
    # re-parameterisation: the deploy twin loads the converted checkpoint strictly and predicts the same
    deployed = str(seg_run['tmp'] / 'deploy.pth')
    tool('tools/model_converters/reparameterize.py').main([seg_run['config'], seg_run['checkpoint'], deployed])
    train_model = build(Config.fromfile(seg_run['config']))
    deploy_model = build(Config.fromfile(seg_run['deploy']))
    train_model.load_state_dict(torch.load(seg_run['checkpoint'], map_location='cpu', weights_only=False)['state_dict'])
    deploy_model.load_state_dict(torch.load(deployed, map_location='cpu', weights_only=False)['state_dict'])
    image = fixture_image('quokka.jpg', (96, 64))
    with torch.no_grad():
        expected = train_model.eval()(image, mode='tensor')
        actual = deploy_model.eval()(image, mode='tensor')
    assert torch.allclose(actual, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item()), \
        (actual - expected).abs().max()


def test_stage_wise_lr_decay_of_the_slak_and_convnest_recipes():
    """decay_type='stage_wise' (SLaK / ConvNeXt UPerNet): downsampling layers 0.9^7, stage i 0.9^(6 - i), the rest
    (out norms, heads) 1; no weight decay on 1-D parameters."""
    need('mmseg.models')
    from mmengine.optim import build_optim_wrapper
    cfg = load('upernet_convnest-t_8xb2-160k_ade20k-512x512')
    cfg.merge_from_dict(tiny_options(cfg, TINY['convnest'][1]))
    model = build(cfg)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    scale = {id(p): (g['lr'] / 1e-4, g['weight_decay']) for g in optimizer.param_groups for p in g['params']}
    for name, param in model.named_parameters():
        parts = name.split('.')
        if parts[:2] == ['backbone', 'downsample_layers']:
            expected = 0.9 ** 7
        elif parts[:2] == ['backbone', 'stages']:
            expected = 0.9 ** (6 - int(parts[2]))
        else:
            expected = 1.0
        lr, wd = scale[id(param)]
        assert lr == pytest.approx(expected), name
        assert wd == (0.0 if param.ndim == 1 or name.endswith('.bias') else 0.05), name
    with pytest.raises(ValueError, match=r"decay_type='block_wise'; valid: \('layer_wise', 'stage_wise'\)"):
        build_optim_wrapper(model, dict(cfg.optim_wrapper, paramwise_cfg=dict(STAGE_WISE, decay_type='block_wise')))
