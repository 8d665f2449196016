# Copyright (c) rrgkit contributors. All rights reserved.
"""Macro ROC-AUC of predicted medical tags."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from rrgkit.registry import METRICS

__all__ = ['TagAUCMetric', 'binary_auc', 'macro_tag_auc']


def binary_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC-AUC by the rank-sum (Mann-Whitney U) statistic, ties averaged.

    Args:
        scores (np.ndarray): ``(N,)`` predicted scores.
        labels (np.ndarray): ``(N,)`` 0/1 ground truth with both classes.

    Returns:
        float: The area under the ROC curve.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError('AUC needs both positive and negative examples.')
    order = np.argsort(scores, kind='mergesort')
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def macro_tag_auc(probs: np.ndarray, targets: np.ndarray) -> Dict[str, float]:
    """Mean AUC over the tags that have both classes in ``targets``.

    Args:
        probs (np.ndarray): ``(N, T)`` predicted probabilities.
        targets (np.ndarray): ``(N, T)`` multi-hot ground truth.

    Returns:
        dict: ``AUC`` (macro mean) and ``num_tags`` (tags scored).
    """
    aucs = [
        binary_auc(probs[:, t], targets[:, t]) for t in range(targets.shape[1])
        if 0 < targets[:, t].sum() < len(targets)
    ]
    if not aucs:
        raise ValueError('No tag has both positive and negative examples in '
                         'the evaluation set; AUC is undefined.')
    return dict(AUC=float(np.mean(aucs)), num_tags=float(len(aucs)))


@METRICS.register_module()
class TagAUCMetric(BaseMetric):
    """Macro tag AUC over tags with both classes in the evaluated split.

    Reads ``pred_tags`` (probabilities) and ``gt_tags`` from each data
    sample; computed once on the whole gathered set.

    Args:
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'tags'``.
    """

    default_prefix: Optional[str] = 'tags'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_tags' not in sample or 'gt_tags' not in sample:
                raise KeyError(
                    'TagAUCMetric needs pred_tags and gt_tags in every data '
                    'sample: use a model that predicts tags and a dataset '
                    'with tags (tags_key / tags_file).')
            self.results.append((np.asarray(sample['pred_tags'].cpu()),
                                 np.asarray(sample['gt_tags'].cpu())))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        probs = np.stack([p for p, _ in results])
        targets = np.stack([t for _, t in results])
        return macro_tag_auc(probs, targets)
