"""SLaK: published sizes (dense and at density 0.6), strip-kernel re-parameterisation, bad input, configs."""
import glob
import re

import pytest
import torch
from torch import nn

from largekernel.models.backbones.base import randomize_bn_stats
from largekernel.models.backbones.slak import SLaK, SLaKConv
from largekernel.utils import count_macs, count_params
from largekernel.utils.model_index import list_models
from largekernel.utils.sparsity import (SLAK_STRIPS, apply_random_masks, maskable_parameters, sparse_kwargs, sparse_macs,
                                        sparse_param_count)

# published kernel sizes on tiny widths: the 51/49/47/13 strips exceed the 16/8/4/2 maps of a 64 input
TINY = dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32), width_factor=1.0)
# (arch, dense params, dense MACs (reference counts of the official training form), paper params at 40% sparsity in
# whole millions, paper FLOPs), from configs/slak/metafile.yml
PUBLISHED = [(e.arch, e.target('Dense Parameters'), e.target('Dense FLOPs'), round(e.params / 1e6), e.flops)
             for e in list_models(backbone='SLaK')
             if e.training_data[-1].startswith('ImageNet')]


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Small float64 convolutions run fastest single-threaded on the shared 2-core CI machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Classifier(nn.Module):
    """The official classification model: backbone -> GAP -> LN (our ``norm3``) -> Linear."""

    def __init__(self, backbone, num_classes=1000):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.channels[-1], num_classes)

    def forward(self, x):
        return self.head(self.backbone(x)[-1])


def meta_classifier(arch, **kwargs):
    with torch.device('meta'):
        return Classifier(SLaK(arch, gap_before_final_norm=True, **kwargs))


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


def random_model(arch=TINY, seed=0, **kwargs):
    """float64, eval mode, random BN statistics and non-trivial layer scales."""
    torch.manual_seed(seed)
    model = SLaK(arch, **kwargs).double()
    randomize_bn_stats(model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('gamma'):
                p.uniform_(0.5, 1.5)
            elif 'large_kernel' in name and name.endswith('weight') and p.dim() == 4:
                p.normal_(0, (1.0 / p[0].numel()) ** 0.5)
    return model.eval()


# -- published numbers (the paper's ImageNet-1K table) -----------------------------------------------------------------
@pytest.mark.parametrize('arch,params,macs,paper_params,paper_macs', PUBLISHED)
def test_params_and_macs_dense_and_sparse(arch, params, macs, paper_params, paper_macs):
    model = meta_classifier(arch)
    x = torch.zeros(1, 3, 224, 224, device='meta')
    assert count_params(model) == pytest.approx(params, rel=3e-3)
    assert count_macs(model, inputs=x) == pytest.approx(macs, rel=3e-3)
    # the paper counts the non-zero weights (in M, rounded) and the MACs of the 40%-sparse models
    assert round(sparse_param_count(model, density=0.6) / 1e6) == paper_params
    # uniform density instead of the paper's SNIP densities: MACs within 5% (T: 5.22G vs 5.0G)
    assert sparse_macs(model, density=0.6, inputs=x) == pytest.approx(paper_macs, rel=5e-2)


def _masked_nonzero_count(arch):
    torch.manual_seed(0)
    model = Classifier(SLaK(arch, gap_before_final_norm=True))
    with torch.no_grad():  # trained weights are non-zero; fresh biases / BN shifts are exactly 0
        for p in model.parameters():
            p[p == 0] = 0.01
    assert count_params(model, nonzero=True) == count_params(model)
    masks = apply_random_masks(model, density=0.6, seed=0)
    assert set(masks) == {n for n, _ in maskable_parameters(model)}
    return model, count_params(model, nonzero=True)


@pytest.mark.slow
@pytest.mark.parametrize('arch,published', [(arch, paper_params) for arch, _, _, paper_params, _ in PUBLISHED])
def test_random_masks_give_published_nonzeros(arch, published):
    model, nonzero = _masked_nonzero_count(arch)
    assert nonzero == sparse_param_count(model, density=0.6)
    assert round(nonzero / 1e6) == published


def test_sparsity_rule_and_masks():
    model = Classifier(SLaK(TINY, gap_before_final_norm=True))
    names = [n for n, _ in maskable_parameters(model)]
    # every conv/linear weight (stem, downsampling, strips, small kernels, MLPs, head); no BN/LN/bias/layer scale
    assert 'backbone.downsample_layers.0.0.weight' in names and 'backbone.downsample_layers.1.1.weight' in names
    assert 'head.weight' in names and 'backbone.stages.0.0.large_kernel.small_conv.conv.weight' in names
    assert not any(n.endswith(('bias', 'gamma')) or '.bn.' in n or 'norm' in n for n in names)
    strips = [n for n, _ in maskable_parameters(model, include=SLAK_STRIPS)]
    assert strips and all('large_kernel.LoRA' in n for n in strips) and len(strips) == 2 * sum(TINY['depths'])
    with torch.no_grad():
        for p in model.parameters():
            p[p == 0] = 0.01
    masks = apply_random_masks(model, density=0.6, seed=3)
    assert count_params(model, nonzero=True) == sparse_param_count(model, density=0.6) < count_params(model)
    for name, p in maskable_parameters(model):
        assert int(masks[name].sum()) == round(0.6 * p.numel())
        assert torch.equal(p != 0, masks[name])
    # filter-wise masks (granularity of the hook's 'filter' mode): whole output filters kept
    model = Classifier(SLaK(TINY, gap_before_final_norm=True))
    with torch.no_grad():
        for p in model.parameters():
            p[p == 0] = 0.01
    filters = apply_random_masks(model, density=0.5, seed=0, include=SLAK_STRIPS, granularity='filter')
    assert count_params(model, nonzero=True) == sparse_param_count(model, 0.5, SLAK_STRIPS, granularity='filter')
    strip = model.backbone.stages[2][1].large_kernel.LoRA2.conv.weight
    assert filters['backbone.stages.2.1.large_kernel.LoRA2.conv.weight'].shape == (24,)
    assert int((strip.flatten(1) != 0).all(1).sum()) == 12 and int((strip.flatten(1) != 0).any(1).sum()) == 12
    again = apply_random_masks(Classifier(SLaK(TINY, gap_before_final_norm=True)), density=0.6, seed=3)
    assert all(torch.equal(masks[n], again[n]) for n in masks)
    with pytest.raises(ValueError, match='density must lie in'):
        sparse_param_count(model, density=1.5)


def test_meta_counting_equals_real_counting():
    with torch.device('meta'):
        meta = Classifier(SLaK(TINY, gap_before_final_norm=True))
    real = Classifier(SLaK(TINY, gap_before_final_norm=True))
    x = (1, 3, 64, 64)
    assert count_params(meta) == count_params(real)
    assert count_macs(meta, inputs=torch.zeros(x, device='meta')) == count_macs(real, x)
    assert sparse_macs(meta, inputs=torch.zeros(x, device='meta')) == sparse_macs(real, input_shape=x)


# -- architecture ---------------------------------------------------------------------------------------------------
def test_architecture_of_slak_t():
    with torch.device('meta'):
        model = SLaK('T', drop_path_rate=0.1)
    assert model.channels == (124, 249, 499, 998) and [len(s) for s in model.stages] == [3, 3, 9, 3]
    for stage, k in zip(model.stages, (51, 49, 47, 13)):
        lk = stage[0].large_kernel
        assert lk.LoRA1.conv.kernel_size == (k, 5) and lk.LoRA1.conv.padding == (k // 2, 2)
        assert lk.LoRA2.conv.kernel_size == (5, k) and lk.LoRA2.conv.padding == (2, k // 2)
        assert lk.small_conv.conv.kernel_size == (5, 5) and lk.LoRA1.conv.groups == lk.LoRA1.conv.in_channels
    assert model.downsample_layers[0][0].kernel_size == (4, 4) and model.downsample_layers[1][1].stride == (2, 2)
    rates = [m.drop_prob for m in model.modules() if hasattr(m, 'drop_prob')]
    assert len(rates) == 17 and rates[-1] == pytest.approx(0.1)  # linear over 18 blocks, the first one 0
    with torch.device('meta'):
        assert SLaK('b').channels == (166, 332, 665, 1331)


def test_forward_and_training_options():
    model = SLaK(TINY, out_indices=(0, 1, 2, 3), drop_path_rate=0.2)
    outs = model(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 24, 4, 4), (2, 32, 2, 2)]
    cls = SLaK(TINY, gap_before_final_norm=True)
    assert cls(torch.randn(2, 3, 64, 64))[0].shape == (2, 32)
    # with_cp: same outputs and gradients
    torch.manual_seed(0)
    small = dict(kernel_sizes=(7, 7, 5, 5), small_kernel=3)
    a = SLaK(TINY, **small).double()
    b = SLaK(TINY, with_cp=True, **small).double()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64, requires_grad=True)
    ya, yb = a(x)[0], b(x)[0]
    assert torch.allclose(ya, yb)
    ya.sum().backward()
    yb.sum().backward()
    assert torch.allclose(a.stages[1][0].large_kernel.LoRA2.conv.weight.grad,
                          b.stages[1][0].large_kernel.LoRA2.conv.weight.grad)
    frozen = SLaK(TINY, frozen_stages=2, norm_eval=True).train()
    assert not any(p.requires_grad for p in frozen.stages[1].parameters())
    assert all(p.requires_grad for p in frozen.stages[2].parameters())
    assert not frozen.stages[3][0].large_kernel.LoRA1.bn.training


# -- re-parameterisation ----------------------------------------------------------------------------------------------
def test_kernel_module_merge_alone():
    torch.manual_seed(0)
    module = SLaKConv(6, 11, 3).double()
    randomize_bn_stats(module)
    module.eval()
    x = torch.randn(2, 6, 9, 13, dtype=torch.float64)
    y = module(x)
    module.reparameterize()
    assert module.small_conv is None and module.LoRA2.bias is None
    assert module.LoRA1.kernel_size == (11, 3) and module.LoRA2.kernel_size == (3, 11)
    assert rel_err(module(x), y) <= 1e-12


@pytest.mark.parametrize('kwargs', [dict(), dict(kernel_sizes=(9, 7, 5, 3), small_kernel=1),
                                    dict(kernel_sizes=(7, 7, 5, 5), small_kernel=3, layer_scale_init_value=None)])
def test_deploy_equivalence(kwargs):
    model = random_model(TINY, out_indices=(0, 1, 2, 3), drop_path_rate=0.3, **kwargs)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    expected = model(x)
    model.switch_to_deploy()
    for got, ref in zip(model(x), expected):
        assert rel_err(got, ref) <= 1e-10
    # two strip convolutions per block, nothing else
    convs = [m for m in model.stages.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 * sum(TINY['depths']) and not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    built = SLaK(TINY, out_indices=(0, 1, 2, 3), deploy=True, **kwargs).state_dict()
    switched = model.state_dict()
    assert list(built) == list(switched) and all(built[k].shape == switched[k].shape for k in built)
    model.switch_to_deploy()  # idempotent
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in switched.items())


@pytest.mark.slow
def test_deploy_equivalence_slak_t():
    model = random_model('T', drop_path_rate=0.1, gap_before_final_norm=True)
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64)
    expected = model(x)[0]
    assert rel_err(model.switch_to_deploy()(x)[0], expected) <= 1e-10


@pytest.mark.parametrize('kwargs,match', [
    (dict(kernel_sizes=(51, 48, 47, 13)), r'positive odd integers.*\[48\]'),
    (dict(small_kernel=4), r'positive odd integers.*\[4\]'),
    (dict(kernel_sizes=(51, 49, 47, 5)), r'must exceed small_kernel=5.*\[5\]'),
    (dict(kernel_sizes=(51, 49, 47)), 'one large kernel per stage'),
    (dict(small_kernel=0), 'positive odd integers'),
])
def test_bad_kernel_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SLaK(TINY, **kwargs)


def test_bad_arch():
    with pytest.raises(KeyError, match=r"unknown arch 'L'"):
        SLaK('L')
    with pytest.raises(KeyError, match=r"unknown keys \['kernel'\]"):
        SLaK(dict(TINY, kernel=3))
    with pytest.raises(ValueError, match='differ in length'):
        SLaK(dict(TINY, depths=(1, 1, 1)))
    with pytest.raises(ValueError, match='width_factor must be positive'):
        SLaK(dict(TINY, width_factor=0))
    assert SLaK(dict(TINY, width_factor=1.5)).channels == (12, 24, 36, 48)


# -- sparse training with the project's hook -------------------------------------------------------------------------
@pytest.mark.parametrize('init', ['uniform', 'snip'])
def test_dynamic_sparse_training_of_slak(init):
    """The hook masks exactly what the counting functions assume, holds the non-zero count through prune/grow, and
    the sparse model still re-parameterises exactly."""
    from largekernel.engine.sparse import DynamicSparseHook
    cfg = dict(sparsity=0.4, granularity='element', include=None, init=init, prune='magnitude', grow='random',
               prune_rate=0.5, update_interval=2)
    torch.manual_seed(0)
    model = Classifier(SLaK(TINY, kernel_sizes=(9, 7, 7, 5), small_kernel=3, gap_before_final_norm=True), 10)
    with torch.no_grad():
        for p in model.parameters():
            p[p == 0] = 0.01
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    hook = DynamicSparseHook(total_steps=20, seed=0, **cfg)
    hook.setup(model, [opt], loss_fn=lambda m: nn.functional.cross_entropy(m(x), y))
    maskable = {n for n, _ in maskable_parameters(model)}
    # SNIP leaves tensors with density >= 0.99 dense (here e.g. the stem and the head), as the official code
    assert set(hook.masks) == maskable if init == 'uniform' else set(hook.masks) < maskable
    start = count_params(model, nonzero=True)
    unmasked = sum(p.numel() for n, p in model.named_parameters() if n not in hook.masks)
    if init == 'uniform':
        assert start == sparse_param_count(model, **sparse_kwargs(cfg))
    for _ in range(6):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        hook.step()
        # the number of kept weights is held; nothing outside the masks is non-zero (regrown weights start at 0)
        assert sum(int(m.sum()) for m in hook.masks.values()) + unmasked == start
        assert all(not (p.detach().ne(0) & ~hook.masks[n]).any() for n, p in hook.params.items())
    assert hook.num_updates == 3
    model.double().eval()
    randomize_bn_stats(model)
    xd = x.double()
    expected = model(xd)
    model.backbone.switch_to_deploy()
    assert rel_err(model(xd), expected) <= 1e-10


@pytest.mark.slow
def test_sparse_training_run_on_real_images(tmp_path):
    """A small SLaK with the paper's hooks (EMA + dynamic sparsity, SNIP init) trained by mmengine's Runner on the
    committed Fashion-MNIST subset: the checkpoint's weights and EMA weights are sparse exactly where the masks say,
    and the trained checkpoint re-parameterises into the deploy form with the same predictions."""
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    from mmengine.runner import Runner
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile('configs/unireplknet/unireplknet-mini_1xb64_fashion-mnist.py')
    cfg.model.backbone = dict(type='largekernel.SLaK', arch=dict(TINY, dims=(16, 32, 64, 128)), in_channels=1,
                              kernel_sizes=(13, 11, 9, 5), small_kernel=3, drop_path_rate=0.1,
                              gap_before_final_norm=True)
    cfg.model.head.in_channels = 128
    for loader in (cfg.train_dataloader, cfg.val_dataloader):  # 56 x 56 inputs: SLaK's stride-32 stages need them
        loader.dataset.pipeline.insert(-1, dict(type='Resize', scale=(56, 56), interpolation='bilinear'))
    cfg.train_dataloader.dataset.indices = 256
    cfg.val_dataloader.dataset.indices = 100
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=0, end=2,
                                convert_to_iter_based=True)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2)
    cfg.custom_hooks = [dict(type='EMAHook', momentum=1e-2, update_buffers=True, priority='ABOVE_NORMAL'),
                        dict(type='largekernel.DynamicSparseHook', sparsity=0.4, init='snip', prune='magnitude',
                             grow='random', prune_rate=0.5, update_interval=3)]
    cfg.work_dir = str(tmp_path)
    Runner.from_cfg(cfg).train()
    checkpoint = torch.load(tmp_path / 'epoch_2.pth', map_location='cpu', weights_only=False)
    masks, state, ema = checkpoint['sparse_masks'], checkpoint['state_dict'], checkpoint['ema_state_dict']
    assert checkpoint['sparse_state']['num_steps'] == 8 and any('large_kernel.LoRA' in n for n in masks)
    model = MODELS.build(cfg.model).eval()
    model.load_state_dict(state)
    # SNIP keeps 60% of all maskable weights; tensors it leaves at density >= 0.99 stay dense (no mask)
    maskable = dict(maskable_parameters(model))
    kept = sum(int(m.sum()) for m in masks.values()) + sum(p.numel() for n, p in maskable.items() if n not in masks)
    assert set(masks) <= set(maskable)
    assert kept == pytest.approx(0.6 * sum(p.numel() for p in maskable.values()), rel=0.01)
    for name, mask in masks.items():
        assert not (state[name].ne(0) & ~mask).any() and not (ema['module.' + name].ne(0) & ~mask).any()
    x = torch.randn(4, 1, 56, 56)
    expected = model(x)
    model.backbone.switch_to_deploy()
    assert torch.allclose(model(x), expected, atol=1e-5, rtol=1e-4)


# -- configs --------------------------------------------------------------------------------------------------------
# the ablation configs (configs/slak/ablations/) are checked by tests/test_ablations.py
# the downstream configs (upernet_*, ...) by tests/test_downstream_*.py
CONFIGS = sorted(p for p in glob.glob('configs/slak/**/*.py', recursive=True)
                 if '/ablations/' not in p and p.split('/')[-1].startswith('slak-'))
# the official README commands: drop path, prune rate, update frequency per model; 40% sparsity everywhere
RECIPES = {'t': (0.1, 0.5, 2000), 's': (0.4, 0.3, 100), 'b': (0.5, 0.3, 100)}


@pytest.mark.parametrize('path', CONFIGS)
def test_configs_state_the_official_recipe_and_build(path):
    from mmengine.config import Config

    from largekernel.registry import HOOKS, MODELS
    cfg = Config.fromfile(path)
    name = re.match(r'slak-([tsb])(-deploy)?_(\d+)xb(\d+)-accum(\d+)_in1k\.py', path.split('/')[-1])
    assert name, path
    arch, deploy = name[1], bool(name[2])
    gpus, batch, accum = int(name[3]), int(name[4]), int(name[5])
    assert cfg.train_dataloader.batch_size == batch and cfg.optim_wrapper.accumulative_counts == accum
    assert gpus * batch * accum == 4096 == cfg.auto_scale_lr.base_batch_size
    assert cfg.optim_wrapper.optimizer.lr == 4e-3 and cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.train_cfg.max_epochs == 300 and cfg.param_scheduler[0].end == 20
    assert cfg.param_scheduler[1].eta_min == 1e-6
    assert [a.alpha for a in cfg.model.train_cfg.augments] == [0.8, 1.0]
    assert cfg.model.head.loss.label_smooth_val == 0.1
    drop_path, prune_rate, interval = RECIPES[arch]
    backbone = cfg.model.backbone
    assert backbone.drop_path_rate == drop_path and backbone.get('deploy', False) is deploy
    assert backbone.kernel_sizes == (51, 49, 47, 13) and backbone.small_kernel == 5
    ema, sparse = cfg.custom_hooks
    assert ema.type == 'EMAHook' and ema.momentum == 1e-4
    assert sparse.sparsity == 0.4 and sparse.init == 'snip' and sparse.grow == 'random'
    assert sparse.prune_rate == prune_rate and sparse.update_interval == interval
    HOOKS.build(sparse)
    assert sparse_kwargs(sparse) == dict(density=pytest.approx(0.6), include=None, exclude=(), granularity='element')
    with torch.device('meta'):
        model = MODELS.build(backbone)
    assert isinstance(model, SLaK) and model.deploy is deploy and model.channels[-1] == cfg.model.head.in_channels
    assert model.arch_zoo[arch.upper()]['depths'] == model.depths


def test_configs_build_mmpretrain_classifier():
    pytest.importorskip('mmcv')
    pytest.importorskip('mmpretrain')
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile('configs/slak/deploy/slak-t-deploy_8xb128-accum4_in1k.py')
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert isinstance(model.backbone, SLaK) and model.head.fc.in_features == 998
    x = torch.zeros(1, 3, 224, 224, device='meta')
    sparse = sparse_kwargs(cfg.custom_hooks[1])
    assert round(sparse_param_count(model, **sparse) / 1e6) == 30
    assert sparse_macs(model, inputs=x, **sparse) == pytest.approx(5.0e9, rel=5e-2)
