"""The backbone contract every family shares (see README.md in this folder for adding a family).

A family resolves its ``arch`` (``resolve_arch``), calls ``super().__init__(num_stages=..., ...)`` with the keyword
arguments below, builds ``downsample_layers`` (stem first) and ``stages`` as two ``nn.ModuleList``s and sets
``self.channels`` (one entry per stage), then calls ``self._finish_init()``: it checks those lengths, adds the out
norms and freezes. This base class provides the rest, with mmpretrain/mmdet conventions:

- ``out_indices``: which stages are returned (negative counts from the end), a tuple of tensors;
- ``out_norms``: one norm per returned stage (``norm{i}``), e.g. the LayerNorms UniRepLKNet adds for dense
  prediction;
- ``gap_before_final_norm``: classification mode for mmpretrain: outputs are globally pooled, then normalised,
  like the official heads (``GAP -> LN``); pair it with ``LinearClsHead`` and no neck;
- ``frozen_stages``: the first ``k`` stages (with their downsampling layers and out norms) are frozen;
  0 freezes nothing (mmpretrain ConvNeXt convention);
- ``norm_eval``: keep every BatchNorm in eval mode during training (detection fine-tuning);
- ``deploy`` / ``switch_to_deploy()``: the re-parameterised inference form; every re-parameterisable sub-module
  has a ``deploy`` flag and a ``reparameterize()`` that returns at once when it is set;
- ``channels_last``: ``True`` converts the input to NHWC memory format before the stem (oneDNN and cuDNN pick
  other kernels for it); same results up to float rounding, outputs in channels-last memory format. ``'auto'``
  (the default of every family but ConvNeSt) converts CPU inputs only: on CPU (batch 8, 224 x 224) it ran
  RepLKNet-31B's deploy form 1.39x and its training 1.18x faster (its NCHW 1 x 1 convs on the 56 x 56 and 112 x 112
  maps were 4x slower per multiply-add) and trained SLaK-T 1.09x faster; the other families ran about as fast,
  ConvNeSt-T's deploy form a little slower (README "CPU speed"; ``tools/analysis_tools/benchmark.py --variant
  model.backbone.channels_last=False``). GPUs: not measured;
- ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``: strict loading with clear errors.
"""
import torch
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...utils.checkpoint import load_pretrained, load_state_dict_checked  # noqa: F401 (re-exported)
from ..layers import LayerNorm2d, log_conv_impls


def resolve_arch(family, arch, arch_zoo, required_keys, optional_keys=()):
    """Look up ``arch`` (a name, case-insensitive) in ``arch_zoo``, or validate a custom dict."""
    if isinstance(arch, str):
        table = {name.lower(): name for name in arch_zoo}
        if arch.lower() not in table:
            raise KeyError(f'{family}: unknown arch {arch!r}; valid: {sorted(arch_zoo)} or a dict with keys '
                           f'{sorted(required_keys)}')
        return dict(arch_zoo[table[arch.lower()]])
    if not isinstance(arch, dict):
        raise TypeError(f'{family}: arch must be a name or a dict, got {type(arch).__name__}')
    missing = set(required_keys) - set(arch)
    unknown = set(arch) - set(required_keys) - set(optional_keys)
    if missing or unknown:
        raise KeyError(f'{family}: custom arch {arch} has missing keys {sorted(missing)} and unknown keys '
                       f'{sorted(unknown)}; required: {sorted(required_keys)}, optional: {sorted(optional_keys)}')
    return dict(arch)


def check_stage_lengths(family, **values):
    """Raise a ValueError naming the values unless every sequence in ``values`` has the same length."""
    lengths = {name: len(v) for name, v in values.items()}
    if len(set(lengths.values())) > 1:
        named = ', '.join(f'{name} {tuple(v)} ({len(v)})' for name, v in values.items())
        raise ValueError(f'{family}: {named} differ in length; each needs one entry per stage')


def reparameterize_children(module):
    """Call ``reparameterize()`` on the outermost sub-modules that define it (each handles its own subtree)."""
    for child in module.children():
        if hasattr(child, 'reparameterize'):
            child.reparameterize()
        else:
            reparameterize_children(child)


class LargeKernelBackbone(BaseModule):
    """Base class of every backbone; all arguments are keyword-only (see the module docstring)."""
    has_batch_norm = True  # False for families whose norms are all LayerNorms: norm_eval=True is then refused

    def __init__(self, *, num_stages, out_indices=(-1,), out_norms=False, gap_before_final_norm=False,
                 frozen_stages=0, norm_eval=False, deploy=False, channels_last='auto', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(out_indices, int):
            out_indices = (out_indices,)
        out_indices = tuple(i + num_stages if i < 0 else i for i in out_indices)
        bad = [i for i in out_indices if not 0 <= i < num_stages]
        if bad or not out_indices:
            raise ValueError(f'out_indices {out_indices} must be non-empty stage indices in [0, {num_stages})')
        if not 0 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages={frozen_stages} must lie in [0, {num_stages}]')
        if channels_last not in (False, True, 'auto'):
            raise ValueError(f"channels_last must be False, True or 'auto' (CPU inputs only), got {channels_last!r}")
        if norm_eval and not self.has_batch_norm:
            raise ValueError(f'{type(self).__name__}: norm_eval=True has no effect: there is no BatchNorm (every norm '
                             'is a LayerNorm); use norm_eval=False')
        self.num_stages = num_stages
        self.out_indices = out_indices
        self.out_norms = out_norms
        self.gap_before_final_norm = gap_before_final_norm
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.deploy = deploy
        self.channels_last = channels_last

    # -- to be called by subclasses once ``channels``, ``downsample_layers`` and ``stages`` exist ---------------------
    def out_norm_layer(self, channels):
        """The per-output norm; LayerNorm (channels first) unless a family overrides it."""
        return LayerNorm2d(channels, eps=1e-6)

    def _finish_init(self):
        """Check that ``channels``, ``downsample_layers`` and ``stages`` have one entry per stage, add the out norms
        ``norm{i}``, freeze the first ``frozen_stages`` stages and log the depthwise conv implementation."""
        parts = dict(channels=self.channels, downsample_layers=self.downsample_layers, stages=self.stages)
        lengths = {name: len(part) for name, part in parts.items()}
        if set(lengths.values()) != {self.num_stages}:
            raise ValueError(f'{type(self).__name__}: num_stages={self.num_stages} but ' +
                             ', '.join(f'len({name})={n}' for name, n in lengths.items()))
        if self.out_norms:
            for i in self.out_indices:
                self.add_module(f'norm{i}', self.out_norm_layer(self.channels[i]))
        self._freeze_stages()
        log_conv_impls(self)

    def dense_out_norms(self):
        """The out norms only the dense-prediction form has, absent from classification checkpoints: every
        ``norm{i}`` but the last stage's, which is the classification head's norm in every family."""
        return [f'norm{i}' for i in self.out_indices if self.out_norms and i != self.num_stages - 1]

    # -- forward -------------------------------------------------------------------------------------------------
    def forward_stage(self, i, x):
        return self.stages[i](self.downsample_layers[i](x))

    def to_input_layout(self, x):
        """``x`` in the memory format ``channels_last`` asks for (see the module docstring)."""
        if self.channels_last is True or (self.channels_last == 'auto' and x.device.type == 'cpu'):
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def forward(self, x):
        x = self.to_input_layout(x)
        outs = []
        for i in range(self.num_stages):
            x = self.forward_stage(i, x)
            if i in self.out_indices:
                out = x.mean((2, 3)) if self.gap_before_final_norm else x
                norm = getattr(self, f'norm{i}', None)
                outs.append(out if norm is None else norm(out))
        return tuple(outs)

    # -- training behaviour ----------------------------------------------------------------------------------------
    def _frozen_modules(self):
        for i in range(self.frozen_stages):
            yield self.downsample_layers[i]
            yield self.stages[i]
            if hasattr(self, f'norm{i}'):
                yield getattr(self, f'norm{i}')

    def _freeze_stages(self):
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    # -- layer-wise learning-rate decay ---------------------------------------------------------------------------
    def layer_id(self, name, num_layers):
        """Group id of parameter ``name`` for layer-wise LR decay, ConvNeXt's 4-stage mapping (used by the official
        UniRepLKNet code): stem 0, stage 0 -> 1, stage 1 (with its downsampling) -> 2, stage 2 block b -> 3 + b // 3,
        stage 3 -> num_layers, anything else (out norms) -> num_layers + 1."""
        if self.num_stages != 4:
            raise NotImplementedError(f'{type(self).__name__} with {self.num_stages} stages needs its own layer_id() '
                                      'for layer-wise lr decay (the default is the 4-stage ConvNeXt mapping)')
        minimum = 4 + (len(self.stages[2]) - 1) // 3      # the last stage-2 group stays below stage 3's id
        if num_layers < minimum:
            raise ValueError(f'{type(self).__name__}.layer_id: num_layers={num_layers} is too small for '
                             f'{len(self.stages[2])} stage-2 blocks (groups of 3); the ConvNeXt mapping needs '
                             f'num_layers >= {minimum}')
        parts = name.split('.')
        if parts[0] in ('downsample_layers', 'stages'):
            stage = int(parts[1])
            if parts[0] == 'downsample_layers' and stage == 0:
                return 0
            if stage == 3:
                return num_layers
            if stage == 2:
                return 3 if parts[0] == 'downsample_layers' else 3 + int(parts[2]) // 3
            return stage + 1
        return num_layers + 1

    # -- re-parameterisation ---------------------------------------------------------------------------------------
    def switch_to_deploy(self):
        """Convert the training form into the inference form in place (no-op if already deployed)."""
        if not self.deploy:
            reparameterize_children(self)
            self.deploy = True
        return self

    reparameterize = switch_to_deploy  # the name timm's ``reparameterize_model`` and the official code use

    # -- pretrained weights ------------------------------------------------------------------------------------------
    def init_weights(self):
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            unknown = set(cfg) - {'type', 'checkpoint', 'prefix', 'map_location'}
            if unknown:
                raise KeyError(f'{type(self).__name__}: unknown init_cfg keys {sorted(unknown)}; '
                               "valid: 'checkpoint', 'prefix', 'map_location'")
            if not cfg.get('checkpoint'):
                raise ValueError(f"{type(self).__name__}: init_cfg type='Pretrained' has no checkpoint; set "
                                 "model.backbone.init_cfg.checkpoint=PATH (a converted or trained checkpoint), or "
                                 "init_cfg=None to train from scratch")
            load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'),
                            map_location=cfg.get('map_location', 'cpu'))
            self._is_init = True
        else:
            super().init_weights()


def trunc_normal_init(module, std=0.02):
    """timm/ConvNeXt default: truncated-normal weights (cut at +-2, absolute) for every Conv2d and Linear, zero biases.

    torch's ``nn.init.trunc_normal_``, not mmengine's ``trunc_normal_init`` or timm's ``trunc_normal_``: same
    distribution, but those use the inverse-CDF method, so one seed would give other weights (and they also fill
    tensors on the meta device, which torch skips).
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


@torch.no_grad()
def randomize_bn_stats(module, generator=None):
    """Give every BatchNorm non-trivial running statistics and affine parameters (for equivalence tests)."""
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.uniform_(-0.5, 0.5, generator=generator)
            m.running_var.uniform_(0.5, 2.0, generator=generator)
            m.weight.uniform_(0.5, 1.5, generator=generator)
            m.bias.uniform_(-0.5, 0.5, generator=generator)
