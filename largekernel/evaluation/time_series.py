"""Forecasting metrics of UniRepLKNet Table 12 (after Corrformer): MSE and MAE over every forecast value (window x
step x station), in the data's units (the official evaluation; no rescaling)."""
from mmengine.evaluator import BaseMetric

from ..registry import METRICS


@METRICS.register_module()
class ForecastMetric(BaseMetric):
    """``mse`` and ``mae`` of the ``pred`` / ``target`` pairs the forecaster's ``predict`` mode returns.

    The official test loop averages per-batch means; with its equal batches (``drop_last``) that is this mean over
    all values.
    """
    default_prefix = 'forecast'

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            pred, target = sample['pred'], sample['target']
            if pred.shape != target.shape:
                raise ValueError(f'ForecastMetric: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ '
                                 'in shape')
            error = (pred.double() - target.double()).cpu()
            self.results.append((error.pow(2).sum().item(), error.abs().sum().item(), error.numel()))

    def compute_metrics(self, results):
        squared, absolute, count = (sum(r[i] for r in results) for i in range(3))
        return dict(mse=squared / count, mae=absolute / count)
