# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.evaluation import LabelAUCMetric


def _sample(p1, label):
    sample = dict(pred_label_scores=torch.tensor([1 - p1, p1]))
    if label is not None:
        sample['gt_label'] = torch.tensor(label)
    return sample


def test_auc_of_the_positive_score_skipping_unlabelled():
    metric = LabelAUCMetric()
    # Positives 0.9, 0.4; negatives 0.5, 0.1: 3 of 4 pairs ordered -> 0.75.
    metric.process(None, [_sample(0.9, 1), _sample(0.4, 1), _sample(0.5, 0),
                          _sample(0.1, 0), _sample(0.99, None)])
    assert metric.evaluate(5) == {'label/AUC': pytest.approx(0.75)}


def test_needs_scores():
    with pytest.raises(KeyError, match='pred_label_scores'):
        LabelAUCMetric().process(None, [dict(gt_label=torch.tensor(1))])
