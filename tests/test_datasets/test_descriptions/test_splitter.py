# Copyright (c) rrgkit contributors. All rights reserved.
import pytest

from rrgkit.datasets import DatasetError
from rrgkit.datasets.descriptions import (KeywordReportSplitter,
                                          ReportSplitError, join_descriptions)
from rrgkit.registry import REPORT_SPLITTERS

GROUPS = [('heart', ['heart', 'cardiac']), ('lungs', ['lung', 'opacity']),
          ('pleura', ['effusion', 'pleura'])]
TEMPLATES = {0: 'normal study.', 1: 'pneumonia.'}


def _splitter(**kwargs):
    return KeywordReportSplitter(GROUPS, **kwargs)


def test_groups_continuations_and_order():
    report = ('The heart is normal, no effusion. Opacity in the left lung, '
              'with blurred margins, the cardiac contour is sharp.')
    result = _splitter(conclusion_templates=TEMPLATES).split(report, 1)
    assert result.descriptions == [
        # Clauses of different sentences are joined with '. '.
        'The heart is normal. The cardiac contour is sharp.',
        # "with blurred margins" matches nothing: it continues the clause.
        'Opacity in the left lung, with blurred margins.',
        'No effusion.'
    ]
    assert result.conclusion == 'pneumonia.'
    assert result.clauses == [
        ('The heart is normal', 'heart'), ('no effusion', 'pleura'),
        ('Opacity in the left lung, with blurred margins', 'lungs'),
        ('the cardiac contour is sharp', 'heart')
    ]
    assert result.unmatched == []
    assert _splitter().description_names == ('heart', 'lungs', 'pleura')


def test_empty_group_no_label_and_decimal_point():
    result = _splitter(conclusion_templates=TEMPLATES).split(
        'A 1.5 cm opacity in the lung.')
    assert result.descriptions == ['', 'A 1.5 cm opacity in the lung.', '']
    assert result.conclusion == ''  # no label given
    assert _splitter().split('', 0).descriptions == ['', '', '']
    assert _splitter().split('', 0).conclusion == ''  # no templates


def test_other_policies():
    report = 'Clear lung. Margins are blurred. No effusion.'
    prev = _splitter().split(report)
    assert prev.unmatched == ['Margins are blurred']
    assert prev.descriptions == ['', 'Clear lung. Margins are blurred.',
                                 'No effusion.']
    last = _splitter(other='last').split(report)
    assert last.descriptions == ['', 'Clear lung.',
                                 'Margins are blurred. No effusion.']
    drop = _splitter(other='drop').split(report)
    assert drop.descriptions == ['', 'Clear lung.', 'No effusion.']
    with pytest.raises(ReportSplitError, match="other='previous'"):
        _splitter(other='error').split(report)
    # At the start of a report, 'previous' takes the next matched group.
    start = _splitter().split('Stable. No effusion.')
    assert start.descriptions == ['', '', 'Stable. No effusion.']
    # With no group at all, 'previous' falls back to the last group.
    assert _splitter().split('Stable.').descriptions == ['', '', 'Stable.']


def test_match_order_and_regex_keywords():
    groups = [('lungs', [r'\blungs?\b', 'shadow']),
              ('pleura', ['thoracic cavity'])]
    report = 'No shadow in the thoracic cavity, shadow in the right lung.'
    plain = KeywordReportSplitter(groups).split(report)
    assert plain.descriptions[1] == ''  # 'shadow' wins in group order
    ordered = KeywordReportSplitter(groups, match_order=['pleura', 'lungs'])
    assert ordered.split(report).descriptions == [
        'Shadow in the right lung.', 'No shadow in the thoracic cavity.'
    ]
    assert ordered.match('pulmonary') is None  # \b keeps 'lung' exact


def test_conclusion_keywords_take_precedence_over_templates():
    splitter = _splitter(conclusion_keywords=[r'\bimpression\b'],
                         conclusion_templates=TEMPLATES)
    result = splitter.split('Lung opacity. Impression: pneumonia.', 0)
    assert result.descriptions == ['', 'Lung opacity.', '']
    assert result.conclusion == 'Impression: pneumonia.'
    assert splitter.split('Lung opacity.', 0).conclusion == 'normal study.'
    # With other='previous', a sentence after the conclusion stays in it.
    result = splitter.split('Impression: pneumonia. Probably viral.')
    assert result.conclusion == 'Impression: pneumonia. Probably viral.'
    assert result.unmatched == ['Probably viral']


def test_chinese_punctuation():
    splitter = KeywordReportSplitter([('lungs', ['肺']), ('pleura', ['胸腔'])],
                                     language='zh',
                                     conclusion_templates={1: '考虑肺炎。'})
    result = splitter.split('双肺见磨玻璃影，边缘模糊；双侧胸腔未见积液，右肺、左肺为著。', 1)
    # '；' ends a sentence, '，' cuts clauses, '、' does not cut.
    assert result.descriptions == ['双肺见磨玻璃影，边缘模糊。右肺、左肺为著。',
                                   '双侧胸腔未见积液。']
    assert result.conclusion == '考虑肺炎。'


def test_join_descriptions():
    assert join_descriptions(['Heart normal.', '', ' lungs clear '],
                             'en') == 'Heart normal. lungs clear.'
    assert join_descriptions(['心影不大', '', '双肺清晰。'], 'zh') == \
        '心影不大。双肺清晰。'
    assert join_descriptions([], 'english') == ''
    with pytest.raises(ValueError, match='Unknown language'):
        join_descriptions(['a'], 'fr')


def test_registry_and_bad_arguments():
    splitter = REPORT_SPLITTERS.build(
        dict(type='KeywordReportSplitter', groups=GROUPS, other='drop'))
    assert isinstance(splitter, KeywordReportSplitter)
    assert splitter.other == 'drop'
    with pytest.raises(DatasetError, match='other must be one of'):
        _splitter(other='append')
    with pytest.raises(DatasetError, match='unique'):
        KeywordReportSplitter([('a', ['x']), ('a', ['y'])])
    with pytest.raises(DatasetError, match="group 'a'"):
        KeywordReportSplitter([('a', 'lung')])  # a string, not a list
    with pytest.raises(DatasetError, match='bad regular expression'):
        KeywordReportSplitter([('a', ['(unclosed'])])
    with pytest.raises(DatasetError, match='match_order'):
        _splitter(match_order=['heart', 'lungs'])
    with pytest.raises(DatasetError, match='Unknown language'):
        _splitter(language='fr')
