# Copyright (c) rrgkit contributors. All rights reserved.
import numpy as np
import pytest
import torch

from rrgkit.evaluation.metrics.tag_auc import binary_auc, macro_tag_auc
from rrgkit.registry import METRICS


def _pairwise_auc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_binary_auc_matches_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 40) / 4.0  # many ties
    labels = rng.integers(0, 2, 40)
    assert binary_auc(scores, labels) == pytest.approx(
        _pairwise_auc(scores, labels))
    assert binary_auc([0.1, 0.9], [0, 1]) == 1.0
    assert binary_auc([0.9, 0.1], [0, 1]) == 0.0


def test_macro_auc_skips_single_class_tags():
    probs = np.array([[0.9, 0.5, 0.5], [0.1, 0.8, 0.5], [0.7, 0.3, 0.5]])
    targets = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 1]])
    out = macro_tag_auc(probs, targets)
    assert out['num_tags'] == 2  # the third tag is always positive
    assert out["AUC"] == pytest.approx((1.0 + 0.5) / 2)


def test_metric_through_the_registry():
    metric = METRICS.build(dict(type='TagAUCMetric'))
    samples = [dict(pred_tags=torch.tensor([0.9, 0.1]),
                    gt_tags=torch.tensor([1.0, 0.0])),
               dict(pred_tags=torch.tensor([0.2, 0.6]),
                    gt_tags=torch.tensor([0.0, 1.0]))]
    metric.process(None, samples)
    assert metric.evaluate(2) == {'tags/AUC': 1.0, 'tags/num_tags': 2.0}
    with pytest.raises(KeyError, match='pred_tags'):
        metric.process(None, [dict(gt_tags=torch.zeros(2))])
