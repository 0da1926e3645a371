"""Every largekernel variant as a timm model: ``timm.create_model('<family>_<arch>')`` once ``largekernel`` is imported.

Names follow timm's convention, lower case ``<family>_<arch>``: ``unireplknet_t``, ``replknet_31b``, ``slak_t``,
``shiftwise_tiny``, ``uniconvnet_n0``, ``convnest_t``, ``convnest_isotropic_t``, ...
(``timm.list_models(module='timm_models')`` lists them all). Each is a ``LargeKernelClassifier``: one of our
backbones plus the classification head of the family's ImageNet config, with timm's classifier interface
(``forward_features``, ``forward_head(x, pre_logits=False)``, ``reset_classifier``, ``forward_intermediates``,
``feature_info``; ``features_only=True`` uses timm's ``FeatureGetterNet``) and the mmpretrain ``ImageClassifier``
state-dict layout (``backbone.*``, ``head.fc.*``). So a checkpoint written by training or by
``tools/model_converters/convert.py`` loads as is, strictly, and gives the same logits as in mmpretrain::

    model = timm.create_model('unireplknet_t', pretrained=True, pretrained_cfg_overlay=dict(file='ckpt.pth'))
    # a checkpoint with another number of classes: say so (else its classifier is dropped, timm's fine-tuning rule)
    model = timm.create_model('unireplknet_b', pretrained=True, num_classes=21841,
                              pretrained_cfg_overlay=dict(file='in21k.pth', num_classes=21841))
    model = timm.utils.reparameterize_model(model)  # the deploy form, same outputs

Keyword arguments other than timm's (``num_classes``, ``in_chans``, ``global_pool``, ``drop_rate``) go to the
backbone (``deploy=True``, ``drop_path_rate``, ``channels_last``, ...). ``build_timm_model(family, arch)`` builds
custom sizes (``arch`` a dict, as the backbones take).
"""
from functools import partial

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models._features import feature_take_indices
from torch import nn

from ..utils.checkpoint import load_checkpoint
from .backbones import ConvNeSt, ConvNeStIsotropic, RepLKNet, ShiftWise, SLaK, UniConvNet, UniRepLKNet
from .converters.core import unwrap

__all__ = ['LargeKernelClassifier', 'FAMILIES', 'build_timm_model', 'checkpoint_filter_fn']

# timm name prefix -> (backbone class, whether the final norm comes before the pooling, the first conv).
# RepLKNet's config is backbone -> BN (norm3) -> GAP -> Linear; every other family's is backbone -> GAP -> LN (norm3)
# -> Linear (``gap_before_final_norm=True``).
FAMILIES = {
    'unireplknet': (UniRepLKNet, False, 'backbone.downsample_layers.0.0'),
    'replknet': (RepLKNet, True, 'backbone.downsample_layers.0.0.conv'),
    'slak': (SLaK, False, 'backbone.downsample_layers.0.0'),
    'shiftwise': (ShiftWise, False, 'backbone.downsample_layers.0.0'),
    'uniconvnet': (UniConvNet, False, 'backbone.downsample_layers.0.0'),
    'convnest': (ConvNeSt, False, 'backbone.downsample_layers.0.0'),
    'convnest_isotropic': (ConvNeStIsotropic, False, 'backbone.downsample_layers.0'),
}
# set by the classifier itself, so that the head stays the one checkpoints were trained with
_FIXED_BACKBONE_ARGS = ('out_indices', 'out_norms', 'gap_before_final_norm', 'in_channels')
_GLOBAL_POOLS = ('avg', '')


def _check_head(num_classes, global_pool):
    if global_pool not in _GLOBAL_POOLS:
        raise ValueError(f'global_pool={global_pool!r} is not supported; valid: {_GLOBAL_POOLS}')
    if global_pool == '' and num_classes > 0:
        raise ValueError(f"global_pool='' (no pooling) needs num_classes=0, got num_classes={num_classes}")


class LinearHead(nn.Module):
    """mmpretrain's ``LinearClsHead`` (one ``fc``), with timm's optional dropout before it."""

    def __init__(self, in_features, num_classes, drop_rate=0.0):
        super().__init__()
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(in_features, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x, pre_logits=False):
        x = self.drop(x)
        return x if pre_logits else self.fc(x)


class LargeKernelClassifier(nn.Module):
    """A largekernel backbone with its family's ImageNet head, behind timm's classifier interface.

    Args:
        backbone_cls (type): a ``LargeKernelBackbone`` subclass.
        arch (str | dict): the backbone's ``arch``.
        norm_before_pool (bool): the final norm (the backbone's last out norm) acts on the feature map before the
            pooling (RepLKNet's BN) instead of on the pooled features (``gap_before_final_norm``).
        num_classes (int): classifier outputs; 0 for none (``forward`` returns the pooled, normalised features).
        in_chans (int): input channels.
        global_pool (str): ``'avg'`` or ``''`` (no pooling, with ``num_classes=0``).
        drop_rate (float): dropout before the classifier (0 in every largekernel recipe).
        **backbone_kwargs: the backbone's other keyword arguments (``deploy``, ``drop_path_rate``, ...).
    """

    def __init__(self, backbone_cls, arch, *, norm_before_pool=False, num_classes=1000, in_chans=3,
                 global_pool='avg', drop_rate=0.0, **backbone_kwargs):
        super().__init__()
        fixed = sorted(set(backbone_kwargs) & set(_FIXED_BACKBONE_ARGS))
        if fixed:
            raise TypeError(f'{backbone_cls.__name__} timm model: {fixed} are set by the classifier (the last stage, '
                            'its final norm, in_chans for the input channels); for several stages use '
                            'features_only=True with out_indices, or the backbone itself')
        _check_head(num_classes, global_pool)
        self.backbone = backbone_cls(arch, in_channels=in_chans, out_indices=(-1,), out_norms=True,
                                     gap_before_final_norm=not norm_before_pool, **backbone_kwargs)
        self.norm_before_pool = norm_before_pool
        self.final_norm_name = f'norm{self.backbone.num_stages - 1}'
        self.num_classes = num_classes
        self.global_pool = global_pool
        self.drop_rate = drop_rate
        self.num_features = self.head_hidden_size = self.backbone.channels[-1]
        self.feature_info = self._feature_info()
        self.head = LinearHead(self.num_features, num_classes, drop_rate)

    def _feature_info(self):
        """One entry per stage: its width and its stride (the product of the conv strides up to it)."""
        info, reduction = [], 1
        for i, (downsample, channels) in enumerate(zip(self.backbone.downsample_layers, self.backbone.channels)):
            for m in downsample.modules():
                if isinstance(m, nn.Conv2d):
                    reduction *= m.stride[0]
            info.append(dict(num_chs=channels, reduction=reduction, module=f'backbone.stages.{i}'))
        return info

    @property
    def final_norm(self):
        return getattr(self.backbone, self.final_norm_name)

    # -- timm's classifier interface -----------------------------------------------------------------------------
    def get_classifier(self):
        return self.head.fc

    def reset_classifier(self, num_classes, global_pool=None):
        global_pool = self.global_pool if global_pool is None else global_pool
        _check_head(num_classes, global_pool)
        self.num_classes, self.global_pool = num_classes, global_pool
        self.head.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def forward_features(self, x):
        x = self.backbone.to_input_layout(x)
        for i in range(len(self.backbone.stages)):
            x = self.backbone.forward_stage(i, x)
        return self.final_norm(x) if self.norm_before_pool else x

    def forward_head(self, x, pre_logits=False):
        if self.global_pool == 'avg':
            x = x.mean((2, 3))
        if not self.norm_before_pool:
            x = self.final_norm(x)
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(self, x, indices=None, norm=False, stop_early=False, output_fmt='NCHW',
                              intermediates_only=False):
        """Stage outputs (``indices``: the last n if an int, all if None, else these stages); ``norm`` applies the
        final norm to the last stage's map. Returns the list, or ``(forward_features(x), list)``."""
        if output_fmt != 'NCHW':
            raise ValueError(f"output_fmt={output_fmt!r} is not supported; valid: 'NCHW'")
        num_stages = len(self.backbone.stages)
        take_indices, max_index = feature_take_indices(num_stages, indices)
        last = num_stages - 1
        intermediates = []
        x = self.backbone.to_input_layout(x)
        for i in range(max_index + 1 if stop_early else num_stages):
            x = self.backbone.forward_stage(i, x)
            if i in take_indices:
                intermediates.append(self.final_norm(x) if norm and i == last else x)
        if intermediates_only:
            return intermediates
        if i == last and self.norm_before_pool:
            x = self.final_norm(x)
        return x, intermediates

    def prune_intermediate_layers(self, indices=1, prune_norm=False, prune_head=True):
        """Drop the stages after the last one in ``indices`` (and the final norm, the head as asked)."""
        num_stages = len(self.backbone.stages)
        take_indices, max_index = feature_take_indices(num_stages, indices)
        prune_end = max_index < num_stages - 1
        if prune_norm or prune_end:
            setattr(self.backbone, self.final_norm_name, nn.Identity())
        self.backbone.stages = self.backbone.stages[:max_index + 1]
        self.backbone.downsample_layers = self.backbone.downsample_layers[:max_index + 1]
        if prune_end:
            self.num_features = self.head_hidden_size = self.feature_info[max_index]['num_chs']
        if prune_head or prune_end:
            self.reset_classifier(0, '')
        return take_indices

    def reparameterize(self):
        """The deploy form in place (``timm.utils.reparameterize_model`` calls this)."""
        self.backbone.switch_to_deploy()
        return self


def checkpoint_filter_fn(state_dict, model, source='checkpoint'):
    """Our checkpoint (a training or converted one, or its state dict) -> the state dict of ``model``, strictly:
    every key and shape must match, else a RuntimeError lists the differences. Only the classifier is left out when
    ``model.num_classes`` differs from the pretrained config's (fine-tuning to new classes; timm then drops it)."""
    state = unwrap(state_dict)
    own = model.state_dict()
    pretrained_classes = getattr(model, 'pretrained_cfg', {}).get('num_classes', model.num_classes)
    if model.num_classes != pretrained_classes:
        state = {k: v for k, v in state.items() if not k.startswith('head.fc.')}
        own = {k: v for k, v in own.items() if not k.startswith('head.fc.')}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
              for k in state if k in own and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        deploy = getattr(model.backbone, 'deploy', False)
        raise RuntimeError(
            f'{source} does not match {getattr(model, "pretrained_cfg", {}).get("architecture", type(model).__name__)}'
            f' ({"deploy" if deploy else "training"} form): missing keys ({len(missing)}): {missing[:8]}; '
            f'unexpected keys ({len(unexpected)}): {unexpected[:8]}; shape mismatches ({len(shapes)}): '
            f'{shapes[:8]}. Check the variant, num_classes and the form (deploy=True for a re-parameterised '
            'checkpoint); an official checkpoint needs tools/model_converters/convert.py first.')
    return state


def build_timm_model(family, arch, *, variant=None, pretrained=False, **kwargs):
    """A ``LargeKernelClassifier`` of ``family`` (a key of ``FAMILIES``) through timm's ``build_model_with_cfg``
    (pretrained loading, ``features_only``); ``variant`` names the pretrained config (default ``<family>_<arch>``)."""
    if family not in FAMILIES:
        raise KeyError(f'unknown family {family!r}; valid: {sorted(FAMILIES)}')
    backbone_cls, norm_before_pool, _ = FAMILIES[family]
    if variant is None:
        if not isinstance(arch, str):
            raise ValueError(f'a custom arch needs variant= (a registered name whose pretrained config to use, '
                             f"e.g. '{family}_{_VARIANTS[family][0]}'), got arch={arch!r}")
        variant = f'{family}_{arch.lower()}'
    overlay = dict(kwargs.pop('pretrained_cfg_overlay', None) or {})
    if pretrained and overlay.get('file') and overlay.get('state_dict') is None:
        # read with largekernel's loader: timm's weights-only reading refuses mmengine training checkpoints
        overlay['state_dict'] = unwrap(load_checkpoint(overlay['file'], map_location='cpu'))
    isotropic = backbone_cls is ConvNeStIsotropic
    return build_model_with_cfg(
        LargeKernelClassifier, variant, pretrained, pretrained_cfg_overlay=overlay,
        pretrained_filter_fn=partial(checkpoint_filter_fn, source=overlay.get('file') or 'the state dict'),
        feature_cfg=dict(feature_cls='getter', out_indices=3 if isotropic else (0, 1, 2, 3)),
        backbone_cls=backbone_cls, arch=arch, norm_before_pool=norm_before_pool, **kwargs)


def _cfg(family, **kwargs):
    isotropic = FAMILIES[family][0] is ConvNeStIsotropic
    return dict(
        url='', num_classes=1000, input_size=(3, 224, 224), pool_size=(14, 14) if isotropic else (7, 7),
        crop_pct=0.875, interpolation='bicubic', mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD,
        first_conv=FAMILIES[family][2], classifier='head.fc', **kwargs)


_VARIANTS = {family: [arch.lower() for arch in cls.arch_zoo] for family, (cls, _, _) in FAMILIES.items()}
default_cfgs = generate_default_cfgs(
    {f'{family}_{arch}': _cfg(family) for family, archs in _VARIANTS.items() for arch in archs})


def _register(family, arch_name):
    arch = next(a for a in FAMILIES[family][0].arch_zoo if a.lower() == arch_name)
    variant = f'{family}_{arch_name}'

    def entrypoint(pretrained=False, **kwargs):
        return build_timm_model(family, arch, variant=variant, pretrained=pretrained, **kwargs)

    entrypoint.__name__ = entrypoint.__qualname__ = variant
    entrypoint.__doc__ = f'{FAMILIES[family][0].__name__}-{arch} classifier (largekernel).'
    entrypoint.__module__ = __name__
    globals()[variant] = register_model(entrypoint)


for _family, _archs in _VARIANTS.items():
    for _arch in _archs:
        _register(_family, _arch)
