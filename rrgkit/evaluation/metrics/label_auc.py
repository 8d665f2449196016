# Copyright (c) rrgkit contributors. All rights reserved.
"""ROC-AUC of the predicted conclusion (e.g. COVID / not)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from rrgkit.registry import METRICS
from .tag_auc import binary_auc

__all__ = ['LabelAUCMetric']


@METRICS.register_module()
class LabelAUCMetric(BaseMetric):
    """AUC of the positive class's score against ``gt_label``.

    Reads ``pred_label_scores`` (class probabilities, e.g. from
    :class:`FindingClassifier`) and ``gt_label``; samples without a label
    are skipped.

    Args:
        positive (int): The positive class. Defaults to 1.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'label'``.
    """

    default_prefix: Optional[str] = 'label'

    def __init__(self, positive: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.positive = positive

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'gt_label' not in sample:
                continue
            if 'pred_label_scores' not in sample:
                raise KeyError('LabelAUCMetric needs pred_label_scores in '
                               'every data sample: use a model with a '
                               'conclusion head (FindingClassifier).')
            score = float(sample['pred_label_scores'][self.positive])
            label = int(sample['gt_label']) == self.positive
            self.results.append((score, label))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        scores = np.array([s for s, _ in results])
        labels = np.array([y for _, y in results])
        return dict(AUC=binary_auc(scores, labels))
