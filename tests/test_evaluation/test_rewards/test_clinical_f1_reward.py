# Copyright (c) rrgkit contributors. All rights reserved.
"""The CE F1 reward, alone and mixed with CIDEr-D."""
import numpy as np
import pytest

from rrgkit.datasets.tags import DEFAULT_LEXICON, TagVocabulary
from rrgkit.evaluation.rewards import RewardMix
from rrgkit.registry import REWARDS

GGO, NOD, EFF = 'ground-glass opacity', 'nodule', 'pleural effusion'
SYM, NO_EFF = 'thorax symmetrical', 'no pleural effusion'
# (reference, generated) with hand-labelled tags, as in test_clinical.py.
PAIRS = [
    # gt {SYM, GGO, NO_EFF}, generated {SYM, GGO, NOD}
    ('The thorax was symmetrical. Ground glass shadow in the right lung. '
     'No pleural effusion.',
     'the thorax was symmetrical . ground glass shadow and a nodule in the '
     'right lung .'),
    # gt {SYM}, generated {SYM}: no abnormal tag on either side
    ('The thorax was symmetrical.', 'the thorax was symmetrical .'),
    # gt {EFF, NOD}, generated {NO_EFF, NOD}
    ('Pleural effusion was seen. A nodule in the left lung.',
     'no pleural effusion . a nodule in the left lung .'),
]
REFS = [[r] for r, _ in PAIRS]
PREDS = [g for _, g in PAIRS]


def _vocab():
    abnormal, normal = [GGO, NOD, EFF], [SYM, NO_EFF]
    return TagVocabulary('english', abnormal, normal,
                         {t: 1 for t in abnormal + normal},
                         lexicon_sha256=DEFAULT_LEXICON.fingerprint())


@pytest.mark.parametrize('group,expected', [
    ('abnormal', [2 / 3, 1.0, 2 / 3]),  # F1 of {GGO} vs {GGO, NOD} ...
    ('all', [2 / 3, 1.0, 1 / 2]),  # ... and with the normal tags
])
def test_per_image_ce_f1(group, expected):
    reward = REWARDS.build(dict(type='ClinicalF1Reward', group=group,
                                vocabulary=_vocab().to_dict()))
    assert reward(PREDS, REFS) == pytest.approx(expected)
    assert reward(PREDS, REFS) == pytest.approx(expected)  # cached refs


def test_mixed_with_cider_d():
    mix = RewardMix(dict(
        cider=dict(type='CIDErDReward'),
        ce=dict(type='ClinicalF1Reward', vocabulary=_vocab().to_dict(),
                weight=0.5)))
    mix.fit(REFS)
    total, terms = mix(PREDS, REFS)
    assert terms['ce'] == pytest.approx([2 / 3, 1.0, 2 / 3])
    np.testing.assert_allclose(total, terms['cider'] + 0.5 * terms['ce'])


def test_unknown_group():
    with pytest.raises(ValueError, match="group='findings'"):
        REWARDS.build(dict(type='ClinicalF1Reward', group='findings',
                           vocabulary=_vocab().to_dict()))
