"""Runtime hooks."""
from mmengine.hooks import Hook
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
