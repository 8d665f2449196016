# Copyright (c) rrgkit contributors. All rights reserved.
"""Clinical efficacy scores on hand-labelled reports (English, Chinese)."""
import json

import pytest

from rrgkit.datasets.tags import (DEFAULT_LEXICON, TagVocabulary,
                                  TagVocabularyError)
from rrgkit.evaluation.functional import (CE_ITEM_KEYS, CE_SCORE_KEYS,
                                          compute_ce_scores,
                                          compute_ce_scores_with_items,
                                          label_texts, load_ce_vocabulary,
                                          resolve_negation_window, tag_prf)

GGO, NOD, EFF, CONS = ('ground-glass opacity', 'nodule', 'pleural effusion',
                       'consolidation')
SYM, NO_EFF = 'thorax symmetrical', 'no pleural effusion'

# id -> (reference, generated); generated English text is written as the
# tokenizer leaves model output: lower case, no commas.
REPORTS = {
    'english': {
        1: ('The thorax was symmetrical. Ground glass shadow in the right '
            'lung. No pleural effusion.',
            'the thorax was symmetrical . ground glass shadow and a nodule '
            'in the right lung .'),
        # a negated finding: "no pleural effusion" is not an effusion
        2: ('Pleural effusion was seen. A nodule in the left lung.',
            'no pleural effusion . a nodule in the left lung .'),
        3: ('The thorax was symmetrical.', 'the thorax was symmetrical .'),
        # one comma-free clause: the "no" must not reach the ground glass
        4: ('Consolidation and ground glass shadow in both lungs.',
            'no enlarged lymph nodes were seen in the mediastinum a ground '
            'glass shadow was seen in the right lung .'),
    },
    'chinese': {
        1: ('胸廓对称。右肺见磨玻璃影。未见胸腔积液。', '胸廓对称，右肺见磨玻璃影及结节影。'),
        2: ('双侧胸腔积液。左肺见结节影。', '未见胸腔积液，左肺见结节影。'),
        3: ('胸廓对称。', '胸廓对称。'),
        4: ('双肺见实变影及磨玻璃影。', '纵隔内未见肿大淋巴结，右肺见磨玻璃影。'),
    },
}
# Labelled by hand (only the vocabulary's tags count).
GT = {1: {SYM, GGO, NO_EFF}, 2: {EFF, NOD}, 3: {SYM}, 4: {CONS, GGO}}
PRED = {1: {SYM, GGO, NOD}, 2: {NO_EFF, NOD}, 3: {SYM}, 4: {GGO}}
# Abnormal: TP 3 (GGO x2, NOD), FP 1 (NOD in 1), FN 2 (EFF, CONS).
# Per tag (P, R, F1): GGO (1, 1, 1), NOD (1/2, 1, 2/3), EFF (0, 0, 0),
# CONS (0, 0, 0). All tags add SYM (1, 1, 1; TP 2) and NO_EFF (0, 0, 0;
# FP 1 in 2, FN 1 in 1).
EXPECTED = {
    'abnormal/micro_P': 3 / 4, 'abnormal/micro_R': 3 / 5,
    'abnormal/micro_F1': 2 / 3,
    'abnormal/macro_P': 1.5 / 4, 'abnormal/macro_R': 2 / 4,
    'abnormal/macro_F1': (1 + 2 / 3) / 4, 'abnormal/num_tags': 4.0,
    'all/micro_P': 5 / 7, 'all/micro_R': 5 / 8, 'all/micro_F1': 2 / 3,
    'all/macro_P': 2.5 / 6, 'all/macro_R': 3 / 6,
    'all/macro_F1': (2 + 2 / 3) / 6, 'all/num_tags': 6.0,
}
# Per image: abnormal (P, R, F1) and all-tags F1; image 3 has no abnormal
# tag on either side: full agreement.
ITEM_ABNORMAL = {1: (1 / 2, 1, 2 / 3), 2: (1, 1 / 2, 2 / 3), 3: (1, 1, 1),
                 4: (1, 1 / 2, 2 / 3)}
ITEM_ALL_F1 = {1: 2 / 3, 2: 1 / 2, 3: 1.0, 4: 2 / 3}


def _vocab(language, extra_abnormal=()):
    abnormal = [GGO, NOD, EFF, CONS, *extra_abnormal]
    normal = [SYM, NO_EFF]
    return TagVocabulary(language, abnormal, normal,
                         {t: 1 for t in abnormal + normal},
                         lexicon_sha256=DEFAULT_LEXICON.fingerprint())


@pytest.mark.parametrize('language', ['english', 'chinese'])
def test_golden_reports(language):
    vocab = _vocab(language)
    refs = {i: r for i, (r, _) in REPORTS[language].items()}
    preds = {i: g for i, (_, g) in REPORTS[language].items()}
    assert label_texts(list(refs.values()), vocab) == [GT[i] for i in refs]
    assert label_texts(list(preds.values()), vocab) == [PRED[i] for i in preds]
    scores, items = compute_ce_scores_with_items(preds, refs, vocab)
    assert set(scores) == set(CE_SCORE_KEYS) | {'abnormal/num_tags',
                                                 'all/num_tags'}
    assert scores == pytest.approx(EXPECTED)
    assert set(items) == set(CE_ITEM_KEYS)
    for i, (p, r, f1) in ITEM_ABNORMAL.items():
        assert (items['abnormal/P'][i], items['abnormal/R'][i],
                items['abnormal/F1'][i]) == pytest.approx((p, r, f1))
        assert items['all/F1'][i] == pytest.approx(ITEM_ALL_F1[i])
    # A tag nobody writes changes nothing (macro: occurring tags only).
    assert compute_ce_scores(preds, refs, _vocab(
        language, ['cavity'])) == pytest.approx(EXPECTED)
    # References scored against themselves: every score is 1.
    perfect = compute_ce_scores(refs, refs, vocab)
    assert all(perfect[k] == 1.0 for k in CE_SCORE_KEYS)


def test_negation_window_matters_on_comma_free_english():
    vocab = _vocab('english')
    text = REPORTS['english'][4][1]
    assert resolve_negation_window('auto', 'en') == 6
    assert resolve_negation_window('auto', 'zh') is None
    assert label_texts([text], vocab) == [{GGO}]
    # A clause-long scope would negate the ground glass after the "no".
    assert label_texts([text], vocab, negation_window=None) == [set()]
    with pytest.raises(ValueError, match='negation_window'):
        label_texts([text], vocab, negation_window=0)


def test_tag_prf_edge_cases():
    # Nothing generated: P (and F1) is 0, not undefined.
    out = tag_prf([frozenset()], [frozenset({'a'})], ['a', 'b'])
    assert out == dict(micro_P=0.0, micro_R=0.0, micro_F1=0.0, macro_P=0.0,
                       macro_R=0.0, macro_F1=0.0, num_tags=1.0)
    # No tag anywhere: nothing to average.
    assert tag_prf([frozenset()], [frozenset()], ['a'])['num_tags'] == 0.0
    with pytest.raises(ValueError, match='one of each'):
        tag_prf([frozenset()], [], ['a'])
    with pytest.raises(ValueError, match='same ids'):
        compute_ce_scores({1: 'x'}, {2: 'x'}, _vocab('english'))


def test_vocabulary_from_file_dict_or_mined(tmp_path):
    vocab = _vocab('english')
    tags_file = tmp_path / 'tags.json'
    vocab.save(tags_file)
    assert load_ce_vocabulary(str(tags_file)).tags == vocab.tags
    assert load_ce_vocabulary(vocabulary=vocab.to_dict()).tags == vocab.tags
    with pytest.raises(TagVocabularyError, match='chinese reports'):
        load_ce_vocabulary(str(tags_file), language='zh')
    # No tag file: mined from the training reports of the annotation.
    ann = {split: [dict(id=f'{split}{i}', report=REPORTS['english'][k][0],
                        label1='english') for i, k in enumerate(keys)]
           for split, keys in (('train', [1, 1, 2, 4]), ('test', [3]))}
    ann_file = tmp_path / 'annotation.json'
    ann_file.write_text(json.dumps(ann), encoding='utf-8')
    mined = load_ce_vocabulary(str(tmp_path / 'absent.json'),
                               ann_file=str(ann_file), language='english',
                               min_count=2)
    # In >= 2 of the 4 training reports: GGO (3), right lung, SYM, NO_EFF.
    assert mined.abnormal == [GGO, 'right lung']
    assert mined.normal == [SYM, NO_EFF]
    with pytest.raises(TagVocabularyError) as err:
        load_ce_vocabulary('data/none.json', ann_file='none/annotation.json',
                           language='en')
    assert 'mine_tags.py ANNOTATION --language english --out ' \
        'data/none.json' in str(err.value)
