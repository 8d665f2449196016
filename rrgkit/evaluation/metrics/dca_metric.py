# Copyright (c) rrgkit contributors. All rights reserved.
"""Diagnostic conclusion accuracy (DCA) of generated reports (MDNet)."""
import math
from typing import (Any, Dict, Hashable, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from rrgkit.registry import METRICS
from ..functional.conclusion import (UNDETERMINED, ConclusionExtractor,
                                     build_conclusion_extractor)

__all__ = ['DiagnosticAccuracyMetric', 'mean_std', 'aggregate_runs']


@METRICS.register_module()
class DiagnosticAccuracyMetric(BaseMetric):
    """Accuracy of the diagnostic conclusion read from generated reports.

    For every data sample (a dict, or a data sample with ``to_dict``) the
    conclusion is read by a
    :class:`~rrgkit.evaluation.functional.ConclusionExtractor` from
    ``pred_conclusion`` when the sample has one (e.g. the conclusion
    description of a multi-description model), falling back to
    ``pred_report`` when nothing in it decides; it is compared with
    ``gt_label``. A text the extractor cannot decide (empty, contradictory,
    or no rule fired and the extractor has no ``default``) is
    *undetermined* and counts as wrong.

    Samples with an ``img_id`` seen before (padding of a distributed
    sampler) are dropped, keeping the first.

    Args:
        extractor (ConclusionExtractor | str | dict): The extractor, a
            preset name, ``dict(preset='covctr_en', **overrides)`` or the
            constructor arguments (``dict(rules=[...], language='en')``).
            None means ``dict(preset='covctr_en')``. Defaults to None.
        save_records (bool): Keep ``{'id', 'text', 'pred', 'gt'}`` per
            sample in :attr:`last_records` after each evaluation.
            Defaults to False.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'dca'``.

    Returns (of ``evaluate``), with the prefix: ``accuracy`` (share of
    samples whose conclusion equals ``gt_label``), ``undetermined`` (share
    of undetermined samples), ``accuracy_<class>`` per ground-truth class
    present (the recall of that class; ``<class>`` from the extractor's
    ``class_names`` or ``class<k>``) and ``num_samples``.
    """

    default_prefix: Optional[str] = 'dca'

    def __init__(self,
                 extractor: Union[ConclusionExtractor, str, Mapping,
                                  None] = None,
                 save_records: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.extractor = build_conclusion_extractor(
            dict(preset='covctr_en') if extractor is None else extractor)
        self.save_records = save_records
        self.last_records: List[Dict[str, Any]] = []

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Read the conclusion of each generated report of one batch.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): Model outputs, one per image.
        """
        for sample in data_samples:
            if not isinstance(sample, Mapping) and hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            if 'gt_label' not in sample:
                raise KeyError(
                    f'DiagnosticAccuracyMetric: data sample has no '
                    f"'gt_label' (keys: {sorted(sample)}); the dataset must "
                    'give the diagnostic label (e.g. the COVID field)')
            if 'pred_report' not in sample and \
                    'pred_conclusion' not in sample:
                raise KeyError(
                    'DiagnosticAccuracyMetric: data sample has neither '
                    f"'pred_report' nor 'pred_conclusion' (keys: "
                    f"{sorted(sample)}); the model's predict() must set one")
            text, pred = self._read(sample)
            self.results.append({
                'id': _plain(sample.get('img_id')),
                'pred': pred,
                'gt': _label(sample['gt_label']),
                'text': text if self.save_records else None,
            })

    def _read(self, sample: Mapping) -> Tuple[str, int]:
        conclusion = sample.get('pred_conclusion')
        if conclusion is not None:
            match = self.extractor.explain(str(conclusion))
            if match is not None and str(conclusion).strip():
                return str(conclusion), match.label
        report = str(sample.get('pred_report', conclusion or ''))
        return report, self.extractor.extract(report)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """DCA over the whole gathered evaluation set.

        Args:
            results (list[dict]): ``{'id', 'pred', 'gt', 'text'}`` from all
                ranks.

        Returns:
            dict[str, float]: See the class docstring.
        """
        unique: List[dict] = []
        seen = set()
        for result in results:
            if result['id'] is not None:
                if result['id'] in seen:
                    continue
                seen.add(result['id'])
            unique.append(result)
        if not unique:
            raise ValueError('DiagnosticAccuracyMetric received no results: '
                             'check that the evaluation dataloader is not '
                             'empty')
        pred = np.array([r['pred'] for r in unique])
        gt = np.array([r['gt'] for r in unique])
        scores = {
            'accuracy': float(np.mean(pred == gt)),
            'undetermined': float(np.mean(pred == UNDETERMINED)),
        }
        names = self.extractor.class_names
        for k in sorted(set(gt.tolist())):
            name = names.get(k, f'class{k}')
            scores[f'accuracy_{name}'] = float(np.mean(pred[gt == k] == k))
        scores['num_samples'] = float(len(unique))
        dropped = len(results) - len(unique)
        if dropped:
            print_log(f'DiagnosticAccuracyMetric: {dropped} duplicate ids '
                      'dropped', logger='current')
        self.last_records = [{
            'id': r['id'], 'text': r['text'], 'pred': r['pred'], 'gt': r['gt']
        } for r in unique] if self.save_records else []
        return scores


def _plain(value: Any) -> Optional[Hashable]:
    if value is None or isinstance(value, (str, bytes)):
        return value
    return value.item() if hasattr(value, 'item') else value


def _label(value: Any) -> int:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    array = np.asarray(value).reshape(-1)
    if array.size != 1:
        raise ValueError(f'DiagnosticAccuracyMetric: gt_label must be one '
                         f'class index, got shape {np.shape(value)}')
    return int(array[0])


def mean_std(values: Sequence[float], ddof: int = 1) -> Tuple[float, float]:
    """Mean and standard deviation over folds or seeds ("mean ± std").

    Args:
        values (Sequence[float]): One score per run.
        ddof (int): 1 for the *sample* std (divides by ``n - 1``, the usual
            choice for a few runs), 0 for the population std. Defaults to 1.

    Returns:
        tuple[float, float]: ``(mean, std)``; std is NaN when there are not
        more than ``ddof`` values (one run has no sample std).
    """
    array = np.asarray(list(values), dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError('mean_std needs at least one value')
    if ddof not in (0, 1):
        raise ValueError(f'ddof must be 0 (population) or 1 (sample), got '
                         f'{ddof}')
    mean = float(array.mean())
    if array.size <= ddof:
        return mean, math.nan
    return mean, float(array.std(ddof=ddof))


def aggregate_runs(runs: Sequence[Mapping[str, float]],
                   ddof: int = 1) -> Dict[str, Tuple[float, float]]:
    """:func:`mean_std` of every metric over several runs.

    Args:
        runs (Sequence[Mapping[str, float]]): One metric dict per fold or
            seed (e.g. what ``runner.test()`` returns), all with the same
            keys.
        ddof (int): See :func:`mean_std`. Defaults to 1 (sample std).

    Returns:
        dict[str, tuple[float, float]]: ``{key: (mean, std)}`` in the key
        order of the first run.
    """
    runs = list(runs)
    if not runs:
        raise ValueError('aggregate_runs needs at least one run')
    keys = list(runs[0])
    for i, run in enumerate(runs):
        if set(run) != set(keys):
            raise KeyError(f'run {i} has keys {sorted(run)} but run 0 has '
                           f'{sorted(keys)}; aggregate runs of one config')
    return {k: mean_std([run[k] for run in runs], ddof) for k in keys}
