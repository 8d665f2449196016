# Copyright (c) rrgkit contributors. All rights reserved.
import numpy as np
import pytest

from rrgkit.evaluation.rewards import RewardConfigError, RewardMix

REFS = [['a b c .'], ['a d e .'], ['f g h .']]


class _Toy:
    """1.0 for a prediction that contains ``word``."""

    def __init__(self, word='a'):
        self.word = word

    def __call__(self, predictions, references):
        return [float(self.word in p.split()) for p in predictions]


def test_weighted_sum_of_named_terms():
    mix = RewardMix(dict(cider=dict(type='CIDErDReward'),
                         toy=dict(type=_Toy, word='b', weight=0.5),
                         length=lambda p, r: [len(x.split()) for x in p]))
    assert mix.needs_references == ('cider', )
    mix.fit(REFS)
    preds = ['a b c .', 'x', 'f g b']
    total, terms = mix(preds, REFS)
    assert terms['toy'].tolist() == [1.0, 0.0, 1.0]
    assert terms['length'].tolist() == [4.0, 1.0, 3.0]
    assert terms['cider'][1] == 0.0 and terms['cider'][0] > 0
    np.testing.assert_allclose(
        total, terms['cider'] + 0.5 * terms['toy'] + terms['length'])


def test_bad_terms_are_refused():
    with pytest.raises(RewardConfigError, match='non-empty dict'):
        RewardMix({})
    with pytest.raises(RewardConfigError, match='reward_cfg.x is of type int'):
        RewardMix(dict(x=3))
    mix = RewardMix(dict(bad=lambda p, r: [1.0]))
    with pytest.raises(ValueError, match="'bad' returned 1 scores for 2"):
        mix(['a', 'b'], [['a'], ['b']])
