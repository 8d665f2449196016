# Copyright (c) rrgkit contributors. All rights reserved.
"""CIDEr-D with fixed document frequencies against pycocoevalcap's Cider."""
import math

import numpy as np
import pytest
from pycocoevalcap.cider.cider import Cider

from rrgkit.evaluation.functional import CiderD, tokenize_for_eval

REFS = {
    0: ['The heart is normal. No nodule was seen.'],
    1: ['A nodule was seen in the right lung.',
        'There is a small nodule in the right lung.'],
    2: ['Both lungs are clear; no pleural effusion.'],
    3: ['The heart is enlarged, and a nodule was seen in the left lung.'],
    4: ['no'],
}
HYPS = {
    0: 'The heart is normal. No nodule.',
    1: 'A nodule was seen in the left lung, a nodule.',
    2: '',  # an empty report scores 0
    3: 'The heart is enlarged.',
    4: 'no no no',
}


def _tokenised():
    texts = {('ref', i): refs for i, refs in REFS.items()}
    texts.update({('hyp', i): [h] for i, h in HYPS.items()})
    tokens = tokenize_for_eval(texts, 'whitespace')
    gts = {i: tokens[('ref', i)] for i in REFS}
    res = {i: tokens[('hyp', i)] for i in HYPS}
    return gts, res


def test_equals_pycocoevalcap_per_item_with_the_same_references():
    gts, res = _tokenised()
    _, expected = Cider().compute_score(gts, res)
    scorer = CiderD(gts.values())
    got = scorer.scores([res[i][0] for i in res], [gts[i] for i in gts])
    assert got == pytest.approx(np.asarray(expected), abs=1e-6)
    assert got[2] == 0.0 and got.max() > 1.0  # not trivially all zero


def test_hand_computed_values():
    # Two documents: every n-gram seen has idf log 2; unseen ones too.
    scorer = CiderD([['a b'], ['c d']])
    # Identical 2-word texts: cosine 1 for uni- and bigrams, no 3/4-grams.
    assert scorer.score('a b', ['a b']) == pytest.approx(10 * 2 / 4)
    # 'a a b' vs 'a b': the count of 'a' is clipped at the reference's;
    # unigrams 2/sqrt(10), bigrams 1/sqrt(2), one bigram longer.
    expected = 10 * (2 / math.sqrt(10) + 1 / math.sqrt(2)) / 4 * math.exp(
        -1 / 72)
    assert scorer.score('a a b', ['a b']) == pytest.approx(expected)
    # Several references: the mean over them.
    assert scorer.score('a b', ['a b', 'c d']) == pytest.approx(10 / 4)


def test_idf_is_fixed_by_the_corpus_not_the_batch():
    scorer = CiderD([['a b'], ['a c'], ['a d']])
    alone = scorer.scores(['a b'], [['a b']])
    with_others = scorer.scores(['a b', 'a c', 'x'], [['a b'], ['a c'],
                                                      ['a d']])
    assert with_others[0] == alone[0]
    # 'a' is in every document: idf 0, so only 'b' and 'a b' count.
    assert scorer.score('a', ['a b']) == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match='at least one reference document'):
        CiderD([])
    scorer = CiderD([['a']])
    with pytest.raises(ValueError, match='2 candidates but 1'):
        scorer.scores(['a', 'b'], [['a']])
