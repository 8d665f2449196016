# Copyright (c) rrgkit contributors. All rights reserved.
"""CIDErDReward equals the CIDEr-D that rrgkit reports."""
import pytest

from rrgkit.evaluation import compute_nlg_scores_per_item
from rrgkit.registry import REWARDS

REFS = [['the heart is normal . no nodule was seen .'],
        ['a nodule was seen in the right lung .',
         'there is a small nodule in the right lung .'],
        ['both lungs are clear , no pleural effusion .'],
        ['the heart is enlarged and a nodule was seen in the left lung .']]
PREDS = ['the heart is normal .', 'a nodule was seen in the left lung .',
         '', 'the heart is enlarged .']


@pytest.mark.parametrize('eval_tokenizer', ['whitespace', 'char'])
def test_equals_reported_cider_d_with_the_same_references(eval_tokenizer):
    reward = REWARDS.build(dict(type='CIDErDReward',
                                eval_tokenizer=eval_tokenizer)).fit(REFS)
    got = reward(PREDS, REFS)
    reported = compute_nlg_scores_per_item(
        dict(enumerate(PREDS)), dict(enumerate(REFS)),
        eval_tokenizer=eval_tokenizer, metrics=['CIDEr'])['CIDEr-D']
    assert got.tolist() == pytest.approx(
        [reported[i] for i in range(len(PREDS))], abs=1e-6)
    assert got[2] == 0.0 and got.max() > 1.0


def test_scores_do_not_depend_on_the_batch():
    reward = REWARDS.build(dict(type='CIDErDReward')).fit(REFS)
    one = reward(PREDS[:1], REFS[:1])
    assert reward(PREDS, REFS)[0] == one[0]
    # Repeated calls reuse the tokenised references and give the same.
    assert reward(PREDS, REFS).tolist() == reward(PREDS, REFS).tolist()


def test_needs_fit_and_a_known_tokenizer():
    reward = REWARDS.build(dict(type='CIDErDReward'))
    with pytest.raises(RuntimeError, match='call fit'):
        reward(PREDS, REFS)
    with pytest.raises(ValueError, match='unknown eval_tokenizer'):
        REWARDS.build(dict(type='CIDErDReward', eval_tokenizer='words'))
