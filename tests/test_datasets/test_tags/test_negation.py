# Copyright (c) rrgkit contributors. All rights reserved.
import pytest

from rrgkit.datasets.tags import (find_negations, is_negated,
                                  normalize_language, normalize_text,
                                  split_clauses)


def _span(text, word):
    start = text.index(word)
    return start, start + len(word)


def _negated(clause, word, language):
    return is_negated(_span(clause, word), find_negations(clause, language))


def test_normalize_language_aliases_and_error():
    assert normalize_language('EN') == 'english'
    assert normalize_language(' zh ') == 'chinese'
    assert normalize_language('chinese') == 'chinese'
    with pytest.raises(ValueError, match="Unknown language 'french'"):
        normalize_language('french')


def test_normalize_text():
    assert normalize_text('  No  “GGO”\n here ', 'en') == 'no "ggo"\n here'
    assert normalize_text('双肺 纹理\u3000增强 CT', 'zh') == '双肺纹理增强ct'


def test_split_clauses_english_keeps_decimals_and_counts_sentences():
    clauses = split_clauses(
        'The thorax was symmetrical, a 1.5 cm nodule was seen. '
        'No effusion; margins clear', 'english')
    assert [c.text for c in clauses] == [
        'the thorax was symmetrical', 'a 1.5 cm nodule was seen',
        'no effusion', 'margins clear'
    ]
    assert [c.sentence for c in clauses] == [0, 0, 1, 2]
    assert [c.index for c in clauses] == [0, 1, 2, 3]
    text = normalize_text('The thorax was symmetrical, a 1.5 cm', 'en')
    assert text[clauses[1].start:].startswith('a 1.5 cm')


def test_split_clauses_chinese_keeps_enumeration_comma():
    clauses = split_clauses('胸廓对称，纵隔居中。右肺中叶、左肺上叶见斑片影；边缘不清,密度不均',
                            'zh')
    assert [c.text for c in clauses] == [
        '胸廓对称', '纵隔居中', '右肺中叶、左肺上叶见斑片影', '边缘不清', '密度不均'
    ]
    assert [c.sentence for c in clauses] == [0, 0, 1, 2, 2]


def test_english_pre_negation_scope_runs_to_clause_end():
    clause = 'no enlarged lymph nodes were seen in the mediastinum'
    (cue, ) = find_negations(clause, 'english')
    assert (cue.cue, cue.direction) == ('no', 'forward')
    assert cue.scope == (2, len(clause))
    assert _negated(clause, 'enlarged lymph nodes', 'en')


@pytest.mark.parametrize('clause', [
    'without pleural effusion', 'absence of pleural effusion',
    'free of pleural effusion', 'negative for pleural effusion',
    'there was not any pleural effusion', "there isn't pleural effusion"
])
def test_english_cues(clause):
    assert _negated(clause, 'pleural effusion', 'en')


def test_english_conjunction_ends_scope():
    clause = ('there is no enlarged lymph nodes in the mediastinum and small '
              'nodules in the lower lobe')
    assert _negated(clause, 'enlarged lymph', 'en')
    assert not _negated(clause, 'small nodules', 'en')
    assert not _negated('no effusion but a nodule', 'nodule', 'en')


def test_english_post_negation():
    clause = 'pleural effusion was not seen'
    cues = find_negations(clause, 'en')
    assert sorted(c.direction for c in cues) == ['backward', 'forward']
    assert is_negated(_span(clause, 'pleural effusion'), cues)
    assert _negated('a nodule was ruled out', 'nodule', 'en')
    assert _negated('the consolidation has resolved', 'consolidation', 'en')


def test_overlap_lets_a_pattern_span_its_cue():
    clause = 'the hilum was not large'
    assert _negated(clause, 'hilum was not large', 'en')
    assert not _negated(clause, 'hilum', 'en')  # before the cue
    assert not _negated('a nodule with no calcification', 'a nodule', 'en')


@pytest.mark.parametrize('clause', [
    'not only ground glass opacity', 'no change of the nodule',
    'pneumonia cannot be excluded', 'a nodule not ruled out'
])
def test_english_pseudo_negations(clause):
    assert find_negations(clause, 'en') == []


def test_chinese_pre_negation():
    clause = '纵隔内未见肿大淋巴结影'
    (cue, ) = find_negations(clause, 'zh')
    assert cue.cue == '未见' and cue.scope == (5, len(clause))
    assert _negated(clause, '肿大淋巴结', 'zh')
    assert not _negated(clause, '纵隔', 'zh')
    for clause, word in [('无胸腔积液', '胸腔积液'), ('没有实变', '实变'),
                         ('未发现结节', '结节'), ('双肺门不大', '肺门不大'),
                         ('胸廓不对称', '胸廓不对称')]:
        assert _negated(clause, word, 'zh'), clause


def test_chinese_enumeration_and_terminators():
    clause = '未见胸腔积液、心包积液'
    assert _negated(clause, '胸腔积液', 'zh')
    assert _negated(clause, '心包积液', 'zh')
    clause = '未见结节但见磨玻璃影'
    assert _negated(clause, '结节', 'zh')
    assert not _negated(clause, '磨玻璃影', 'zh')


def test_chinese_post_negation():
    (cue, ) = find_negations('右肺病灶消失', 'zh')
    assert cue.direction == 'backward' and cue.scope == (0, 4)
    assert _negated('右肺病灶消失', '病灶', 'zh')


@pytest.mark.parametrize('clause', [
    '边缘不清', '密度不均', '左肺上叶见不规则致密影', '大小不等结节影', '左肺上叶支气管显示不良',
    '左侧肋骨见骨质不连续', '左肺下叶肺不张', '右侧胸腔内见条状无纹理透光区', '不除外感染',
    '边缘不规整'
])
def test_chinese_pseudo_negations(clause):
    assert find_negations(clause, 'zh') == []
