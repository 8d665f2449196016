# Copyright (c) rrgkit contributors. All rights reserved.
import numpy as np
import pytest
import torch

from rrgkit.apis.feature_probe import (cv_choose_l2, fit_logistic,
                                       pooled_features, probe_scores,
                                       probe_targets)
from rrgkit.structures import ReportDataSample


def _separable(n=60, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    label = (x[:, 0] > 0).long().numpy()
    tags = np.stack([(x[:, 1] > 0), (x[:, 2] + x[:, 3] > 0),
                     np.zeros(n, bool)], 1).astype(np.float32)
    return x, dict(label=label, tags=tags)


def test_logistic_regression_matches_the_optimality_condition():
    x, t = _separable()
    y = torch.from_numpy(t['label'][:, None].astype(np.float64))
    w, b = fit_logistic(x, y, l2=0.1)
    # Gradient of mean BCE + 0.5 * l2 * |w|^2 vanishes at the optimum.
    p = torch.sigmoid(x.double() @ w + b)
    grad_w = x.double().T @ (p - y) / len(x) + 0.1 * w
    grad_b = (p - y).mean(0)
    assert grad_w.abs().max() < 1e-6 and grad_b.abs().max() < 1e-6


def test_probe_finds_linear_signal_and_ignores_noise():
    x, t = _separable(200)
    ex, et = _separable(100, seed=1)
    scores = probe_scores(x, t, ex, et)
    assert scores['label_AUC'] > 0.98
    assert scores['tags_AUC'] > 0.95
    # The all-zero third tag is not learnable and not scored.
    assert scores['num_tags'] == 2
    noise = dict(label=np.random.RandomState(0).randint(0, 2, 200),
                 tags=None)
    enoise = dict(label=np.random.RandomState(1).randint(0, 2, 100),
                  tags=None)
    assert abs(probe_scores(x, noise, ex, enoise)['label_AUC'] - 0.5) < 0.15


def test_cv_prefers_weak_regularisation_for_a_clean_signal():
    x, t = _separable(120)
    assert cv_choose_l2(x, t['label'][:, None].astype(float),
                        grid=(1e-3, 10.0)) == 1e-3


def test_pooled_features_average_views_and_targets():
    class Identity(torch.nn.Module):
        def forward(self, x):
            return (x, )

    samples = [ReportDataSample().set_gt_label(1).set_gt_tags([1, 0]),
               ReportDataSample().set_gt_label(0).set_gt_tags([0, 1])]
    inputs = torch.arange(2 * 2 * 1 * 2 * 2, dtype=torch.float).view(
        2, 2, 1, 2, 2)  # 2 studies x 2 views

    def preprocessor(batch, training):
        return batch

    feats, out = pooled_features(
        Identity(), preprocessor, [dict(inputs=inputs, data_samples=samples)])
    # Study 0: views with means 1.5 and 5.5 -> 3.5; study 1: 9.5, 13.5 -> 11.5
    assert feats.squeeze(1).tolist() == [3.5, 11.5]
    targets = probe_targets(out)
    assert targets['label'].tolist() == [1, 0]
    assert targets['tags'].tolist() == [[1, 0], [0, 1]]
    with pytest.raises(ValueError, match='no images'):
        pooled_features(Identity(), preprocessor, [])
