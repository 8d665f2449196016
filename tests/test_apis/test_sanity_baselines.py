# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.apis.sanity_baselines import (nearest_neighbour_indices,
                                          sanity_baseline_scores,
                                          thumbnail_features)
from rrgkit.structures import ReportDataSample


class _Images:
    """A dataset of packed items, as a pipeline would give them."""

    def __init__(self, images, reports):
        self.items = [dict(inputs=img,
                           data_samples=ReportDataSample().set_gt_report(r))
                      for img, r in zip(images, reports)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_thumbnails_are_standardised_and_ignore_brightness():
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 200, (3, 32, 32), generator=g, dtype=torch.uint8)
    brighter = img + 40  # same pattern, other brightness
    feats, samples = thumbnail_features(_Images([img, brighter],
                                                ['a .', 'b .']), size=8)
    assert feats.shape == (2, 64)
    assert torch.allclose(feats.norm(dim=1), torch.ones(2))
    assert torch.allclose(feats.mean(1), torch.zeros(2), atol=1e-6)
    assert torch.allclose(feats[0], feats[1], atol=1e-5)
    assert [s.gt_report for s in samples] == ['a .', 'b .']


def test_nearest_neighbour_picks_most_similar_first_on_ties():
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    query = torch.tensor([[0.1, 0.9], [0.9, 0.2]])
    assert nearest_neighbour_indices(train, query).tolist() == [1, 0]


def test_scores_of_both_baselines():
    train_reports = ['the heart is normal .', 'the heart is normal .',
                     'a nodule in the lung .']
    train_feats = torch.eye(3)
    refs = [['a nodule in the lung .'], ['the heart is normal .']]
    eval_feats = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    out = sanity_baseline_scores(train_reports, train_feats, refs,
                                 eval_feats, ['x', 'y'],
                                 eval_tokenizer='whitespace')
    nn = out['nearest_neighbour']
    assert [r['generated'] for r in nn['records']] == [
        'a nodule in the lung .', 'the heart is normal .']
    assert nn['metrics']['report/BLEU-1'] == pytest.approx(1.0)
    frequent = out['most_frequent']
    assert {r['generated'] for r in frequent['records']} == {
        'the heart is normal .'}
    assert frequent['metrics']['report/BLEU-1'] < 1.0
    assert frequent['records'][0]['id'] == 'x'
