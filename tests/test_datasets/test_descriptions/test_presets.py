# Copyright (c) rrgkit contributors. All rights reserved.
import json
import re
from collections import Counter

import pytest

from rrgkit.datasets import DatasetError
from rrgkit.datasets.descriptions import (COVCTR_CONCLUSION_TEMPLATES,
                                          COVCTR_DESCRIPTION_NAMES,
                                          KeywordReportSplitter,
                                          build_report_splitter,
                                          join_descriptions)

EN = ('The thorax was symmetrical, the mediastinal heart shadow was centered, '
      'and no enlarged lymph nodes were seen in the mediastinum. The texture '
      'of both lungs was clear, and small patches and lamellar ground glass '
      'shadows were seen under the pleura of the upper lobe of the right '
      'lung, with unclear margins. The bronchus of the lobe segment was '
      'clear, and no abnormal density shadow was seen in the bilateral '
      'thorax.\n')
ZH = ('胸廓对称，纵隔心影居中，双肺纹理清晰，右肺中叶、左肺上叶舌段及双肺下叶胸膜下可见斑片影、'
      '小片影及磨玻璃影，边缘不清，右肺下叶胸膜下为著，双侧胸腔内未见异常密度影。')


def test_covctr_en_by_hand():
    splitter = build_report_splitter('covctr_en')
    assert splitter.description_names == COVCTR_DESCRIPTION_NAMES == (
        'thorax_mediastinum', 'lungs', 'bronchi', 'pleura')
    result = splitter.split(EN, 1)
    assert result.descriptions == [
        'The thorax was symmetrical, the mediastinal heart shadow was '
        'centered, and no enlarged lymph nodes were seen in the mediastinum.',
        'The texture of both lungs was clear, and small patches and lamellar '
        'ground glass shadows were seen under the pleura of the upper lobe '
        'of the right lung, with unclear margins.',
        'The bronchus of the lobe segment was clear.',
        'And no abnormal density shadow was seen in the bilateral thorax.'
    ]
    assert result.conclusion == 'findings consistent with covid-19 pneumonia.'
    assert splitter.split(EN, 0).conclusion == \
        'no evidence of covid-19 pneumonia.'
    # Specific rules are tried before the broad lung rules.
    assert splitter.match('the mediastinal cardiac shadow was centered') == \
        'thorax_mediastinum'
    assert splitter.match('the bronchi of both lung segments were clear') == \
        'bronchi'
    assert splitter.match('ground glass shadow under the pleura of the '
                          'lower lobe') == 'lungs'
    # An air bronchogram is a lung finding: no subject, so a continuation.
    assert splitter.match('the bronchial air image was seen within it') is None
    assert splitter.split('Patchy shadow in the right lung, the bronchial air '
                          'image was seen within it.').descriptions[1] == \
        'Patchy shadow in the right lung, the bronchial air image was seen ' \
        'within it.'


def test_covctr_zh_by_hand():
    splitter = build_report_splitter(dict(preset='covctr_zh'))
    result = splitter.split(ZH, 0)
    assert result.descriptions == [
        '胸廓对称，纵隔心影居中。',
        '双肺纹理清晰，右肺中叶、左肺上叶舌段及双肺下叶胸膜下可见斑片影、小片影及磨玻璃影，边缘不清，'
        '右肺下叶胸膜下为著。', '', '双侧胸腔内未见异常密度影。'
    ]
    assert result.conclusion == '未见新型冠状病毒肺炎征象。'
    assert splitter.match('叶段支气管通畅') == 'bronchi'
    assert splitter.match('右肺下叶胸模下见片状磨玻璃影') == 'lungs'  # typo 胸模
    assert splitter.match('右侧胸模见局限性增厚') == 'pleura'


def test_templates_constant():
    assert COVCTR_CONCLUSION_TEMPLATES == {
        'en': {
            0: 'no evidence of covid-19 pneumonia.',
            1: 'findings consistent with covid-19 pneumonia.'
        },
        'zh': {
            0: '未见新型冠状病毒肺炎征象。',
            1: '考虑新型冠状病毒肺炎。'
        }
    }


def test_build_report_splitter_forms():
    drop = build_report_splitter(dict(preset='covctr_en', other='drop'))
    assert drop.other == 'drop' and drop.language == 'english'
    custom = build_report_splitter(dict(groups=[('a', ['x'])]))
    assert custom.description_names == ('a', )
    typed = build_report_splitter(
        dict(type='KeywordReportSplitter', groups=[('a', ['x'])]))
    assert isinstance(typed, KeywordReportSplitter)
    assert build_report_splitter(custom) is custom
    with pytest.raises(DatasetError, match=r"known presets: \['covctr_en'"):
        build_report_splitter('covctr_fr')
    with pytest.raises(DatasetError, match='report_splitter must be'):
        build_report_splitter(42)
    # Presets are copied, never changed by an override.
    build_report_splitter(dict(preset='covctr_en', conclusion_templates=None))
    assert build_report_splitter('covctr_en').conclusion_templates == \
        COVCTR_CONCLUSION_TEMPLATES['en']


def _words(text, language):
    if language == 'english':
        return Counter(re.findall(r'\w+', text.lower()))
    return Counter(c for c in text if re.match(r'\w', c))


# Measured on the real train split: no clause of 4136 (English) or 4260
# (Chinese) falls into no group; the bound allows about two.
@pytest.mark.parametrize('language,preset', [('english', 'covctr_en'),
                                             ('chinese', 'covctr_zh')])
def test_real_covctr_train_split(covctr_root, language, preset):
    ann = json.loads((covctr_root / 'annotation.json').read_text('utf-8'))
    records = [
        r for r in ann['train']
        if r['label1'] == language and r['report'].strip()
    ]
    splitter = build_report_splitter(preset)
    clauses, unmatched, filled = 0, 0, Counter()
    for rec in records:
        result = splitter.split(rec['report'], rec['COVID'])
        clauses += len(result.clauses)
        unmatched += len(result.unmatched)
        filled.update(n for n, d in zip(splitter.description_names,
                                        result.descriptions) if d)
        # Nothing lost: the descriptions hold every word of the report.
        joined = join_descriptions(result.descriptions, splitter.language)
        assert _words(joined, language) == _words(rec['report'], language)
        assert result.conclusion == \
            COVCTR_CONCLUSION_TEMPLATES[preset[-2:]][rec['COVID']]
    assert len(records) == 576 and clauses > 4000
    assert unmatched / clauses <= 0.0005, unmatched
    # Nearly every report describes the thorax, the lungs and the pleura.
    for name in ('thorax_mediastinum', 'lungs', 'pleura'):
        assert filled[name] / len(records) > 0.9, (name, filled)
    assert filled['bronchi'] / len(records) > 0.75
