"""Runtime hooks."""
from mmengine.hooks import EMAHook, Hook
from mmengine.optim import OptimWrapperDict
from mmengine.runner import set_random_seed

from ..registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Re-seed Python, NumPy and torch at the start of every training epoch with ``seed + epoch``.

    mmengine seeds once at start-up and does not checkpoint the generators; in between, validation and data-loader
    start-up draw from them too. So a run resumed from a checkpoint would draw other augmentations, drop-path
    masks and mixup coefficients than the uninterrupted run. With this hook each epoch's randomness depends only
    on the seed and the epoch index: resuming from an epoch checkpoint ends with exactly the weights of the
    uninterrupted run (data loading in the main process or in non-persistent workers).

    Args:
        seed (int | None): base seed; None takes the runner's (``randomness.seed``).
    """
    priority = 'VERY_HIGH'

    def __init__(self, seed=None):
        self.seed = seed

    def before_train_epoch(self, runner):
        base = self.seed if self.seed is not None else runner.seed
        diff_rank = runner.cfg.get('randomness', {}).get('diff_rank_seed', False)
        set_random_seed(base + runner.epoch, diff_rank_seed=diff_rank)


@HOOKS.register_module()
class StepEMAHook(EMAHook):
    """mmengine's ``EMAHook`` updated once per optimizer step, as timm's ``ModelEma`` in the official training code
    of every family (``ema.update(model)`` after each ``optimizer.step()``).

    ``EMAHook`` updates after every *iteration*: with ``accumulative_counts=k`` the per-optimizer-step decay becomes
    ``(1 - momentum) ** k`` (0.9996 for 0.9999 at k = 4). This hook counts the wrapped optimizers' real
    ``step()`` calls (a step post-hook, so an AMP step skipped for inf/NaN gradients is not counted) and updates
    the average only in an iteration that stepped. As ``ModelEma``, the average starts from the weights at the start
    of training (``E_0 = W_0``, then ``E_k = (1 - momentum) E_{k-1} + momentum W_k``), so ``momentum=1e-4`` is
    the papers' decay 0.9999 per optimizer step whatever the accumulation. The state (``steps`` included) is
    checkpointed and resumed by ``EMAHook``. All other arguments as ``EMAHook``; ``interval`` of the averaged
    model then counts optimizer steps.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._stepped = False
        self._handles = []

    def before_train(self, runner):
        super().before_train(runner)
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
        self._handles = [w.optimizer.register_step_post_hook(self._on_step) for w in wrappers]
        if int(self.ema_model.steps) == 0:        # fresh start (not resumed): E_0 = W_0
            self.ema_model.update_parameters(self.src_model)

    def _on_step(self, optimizer, args, kwargs):
        self._stepped = True

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self._stepped:
            self._stepped = False
            super().after_train_iter(runner, batch_idx, data_batch, outputs)

    def after_train(self, runner):
        for handle in self._handles:
            handle.remove()
        self._handles = []
