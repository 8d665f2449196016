# Copyright (c) rrgkit contributors. All rights reserved.
import json
import os

import pytest

from rrgkit.datasets.tags import (DEFAULT_LEXICON, Lexicon, TagInfo, TagTerm,
                                  TagVocabulary, TagVocabularyError,
                                  extract_tags, find_mentions, label_report,
                                  load_tag_file, mine_tag_vocabulary,
                                  read_annotation, reports_by_id,
                                  split_image_ids, unmatched_clauses)

LN, NO_LN = 'lymph node enlargement', 'no lymph node enlargement'


# ----------------------------------------------------------------------
# Tagging single reports
# ----------------------------------------------------------------------
@pytest.mark.parametrize('report,language', [
    ('No enlarged lymph nodes were seen in the mediastinum.', 'en'),
    ('There were no enlarged lymph nodes in the mediastinum.', 'en'),
    ('纵隔内未见肿大淋巴结影。', 'zh'),
])
def test_negated_finding_gives_the_normal_tag(report, language):
    assert extract_tags(report, language) == {NO_LN}


@pytest.mark.parametrize('report,language', [
    ('Mildly enlarged lymph nodes were seen in the mediastinum.', 'en'),
    ('纵隔内见轻度肿大淋巴结影。', 'zh'),
])
def test_affirmed_finding_gives_the_abnormal_tag(report, language):
    assert extract_tags(report, language) == {LN}


def test_typical_covctr_report_both_languages():
    en = ('The thorax was symmetrical, the mediastinal heart shadow was '
          'centered, and no enlarged lymph nodes were seen in the '
          'mediastinum. The texture of both lungs was clear, and small '
          'patches and lamellar '
          'ground glass shadows were seen under the pleura of the upper lobe '
          'of the right lung, with unclear margins. The bronchus of the lobe '
          'segment was clear, and no abnormal density shadow was seen in the '
          'bilateral thorax.')
    zh = ('胸廓对称，纵隔心影居中，纵隔内未见肿大淋巴结。双肺纹理清晰，右肺上叶胸膜下可见小斑片及'
          '片状磨玻璃影，边缘不清。所见叶段支气管通畅，双侧胸腔内未见异常密度影。')
    expected = {
        'thorax symmetrical', 'mediastinum centred', NO_LN,
        'lung markings clear', 'patchy shadow', 'ground-glass opacity',
        'subpleural', 'upper lobe', 'right lung', 'ill-defined margin',
        'bronchi patent', 'no pleural effusion'
    }
    assert extract_tags(en, 'english') == expected
    assert extract_tags(zh, 'chinese') == expected


def test_locations_only_next_to_an_affirmed_lesion():
    # "both lungs" of a normal clause is not a location tag.
    assert extract_tags('The texture of both lungs was clear.',
                        'en') == {'lung markings clear'}
    assert extract_tags('双肺纹理增强，双肺内未见异常密度影。', 'zh') == {
        'increased lung markings', 'lung fields clear'
    }
    # A location-only clause inherits the lesion of its sentence.
    assert extract_tags('双肺见磨玻璃影，双肺下叶为著。', 'zh') == {
        'ground-glass opacity', 'both lungs', 'lower lobe'
    }
    # ... but not across sentences.
    assert 'lower lobe' not in extract_tags('双肺见磨玻璃影。双肺下叶为著。', 'zh')
    # The 、-list keeps all locations in one clause.
    assert extract_tags('右肺中叶、左肺上叶舌段及双肺下叶可见斑片影', 'zh') == {
        'patchy shadow', 'right lung', 'middle lobe', 'left lung',
        'upper lobe', 'lingula', 'both lungs', 'lower lobe'
    }


@pytest.mark.parametrize('report,language,tags', [
    ('双肺门不大', 'zh', {'hila not enlarged'}),
    ('the hilum of both lungs is not large', 'en', {'hila not enlarged'}),
    ('右肺门增大', 'zh', {'hilar enlargement'}),
    ('胸廓不对称', 'zh', {'thorax asymmetry'}),
    ('the thorax was asymmetric', 'en', {'thorax asymmetry'}),
    ('纵隔心影左移', 'zh', {'mediastinal shift'}),
    ('右肺上叶见斑片状实变影', 'zh', {'consolidation', 'right lung', 'upper lobe'}),
    ('a patchy solid shadow was seen', 'en', {'consolidation'}),
    ('左肺上叶见不规则致密影', 'zh', {'dense shadow', 'left lung', 'upper lobe'}),
    ('右肺下叶胸模下见磨玻璃影', 'zh',
     {'ground-glass opacity', 'right lung', 'lower lobe', 'subpleural'}),
    ('ground glass shadow under the plethysmograph', 'en',
     {'ground-glass opacity', 'subpleural'}),
    ('双侧胸腔内见弧形低密度影', 'zh', {'pleural effusion'}),
    ('arcuate hypointense shadow was seen in the bilateral thoracic cavity',
     'en', {'pleural effusion'}),
    ('右侧胸腔内见条状无纹理透光区', 'zh', {'pneumothorax'}),
    ('局部见铺路石征', 'zh', {'crazy paving'}),
    ('小叶间隔增厚', 'zh', {'interlobular septal thickening'}),
    ('其内见支气管充气征', 'zh', {'air bronchogram'}),
    ('the margin was not clear', 'en', {'ill-defined margin'}),
    ('密度不均', 'zh', {'uneven density'}),
])
def test_lexicon_examples(report, language, tags):
    assert extract_tags(report, language) == tags


def test_find_mentions_reports_negation():
    mentions = find_mentions('no enlarged lymph nodes, nodule seen', 'en')
    got = {(m.term_tag, m.tag, m.negated, m.clause) for m in mentions}
    assert got == {(LN, NO_LN, True, 0), ('nodule', 'nodule', False, 1)}


# ----------------------------------------------------------------------
# Mining and labelling
# ----------------------------------------------------------------------
TRAIN = [
    'No enlarged lymph nodes. Ground glass shadow in the right lung.',
    'No enlarged lymph nodes. Ground glass shadow in both lungs.',
    'No enlarged lymph nodes. A nodule in the right lung.',
    'Mildly enlarged lymph nodes. Ground glass shadow in the left lung.',
    '',
]


def test_mine_tag_vocabulary_counts_and_order():
    vocab = mine_tag_vocabulary(TRAIN, 'en', min_count=2)
    assert vocab.language == 'english' and vocab.num_reports == 4
    assert vocab.abnormal == ['ground-glass opacity', 'right lung']
    assert vocab.normal == [NO_LN]
    assert vocab.tags == ['ground-glass opacity', 'right lung', NO_LN]
    assert vocab.counts == {'ground-glass opacity': 3, 'right lung': 2,
                            NO_LN: 3}
    assert vocab.categories['right lung'] == 'location'
    assert vocab.chinese_names['ground-glass opacity'] == '磨玻璃影'
    assert vocab.lexicon_sha256 == DEFAULT_LEXICON.fingerprint()
    assert len(vocab) == 3 and 'right lung' in vocab and LN not in vocab
    assert vocab.index(NO_LN) == 2 and vocab.encode([NO_LN]) == [0, 0, 1]
    with pytest.raises(TagVocabularyError, match="'nodule'"):
        vocab.encode(['nodule'])
    # min_count=1 keeps the rarer tags, abnormal before normal.
    full = mine_tag_vocabulary(TRAIN, 'en', min_count=1)
    assert full.tags == [
        'ground-glass opacity', 'right lung', 'nodule', 'lymph node '
        'enlargement', 'both lungs', 'left lung', NO_LN
    ]


def test_mine_tag_vocabulary_errors():
    with pytest.raises(TagVocabularyError, match='No tag occurs in 3 or more'):
        mine_tag_vocabulary(['just text', 'more text'], 'en')
    with pytest.raises(ValueError, match='min_count'):
        mine_tag_vocabulary(TRAIN, 'en', min_count=0)
    with pytest.raises(TypeError, match=r'reports\[1\]'):
        mine_tag_vocabulary(['a', None], 'en')
    with pytest.raises(ValueError, match='Unknown language'):
        mine_tag_vocabulary(TRAIN, 'fr')


def test_label_report_limits_to_vocabulary_and_checks_language():
    vocab = mine_tag_vocabulary(TRAIN, 'en', min_count=2)
    report = 'No enlarged lymph nodes. A nodule in the right lung.'
    assert label_report(report, vocab) == {NO_LN, 'right lung'}
    assert label_report(report, vocab, 'english') == {NO_LN, 'right lung'}
    assert label_report('', vocab) == set()
    with pytest.raises(TagVocabularyError, match='mined from english'):
        label_report('右肺磨玻璃影', vocab, 'zh')
    other = Lexicon(list(DEFAULT_LEXICON.tags.values())[:1],
                    [TagTerm('ground-glass opacity', english=('glass', ))])
    with pytest.raises(TagVocabularyError, match='different lexicon'):
        label_report(report, vocab, lexicon=other)


def test_custom_lexicon_roundtrip_and_validation(tmp_path):
    data = DEFAULT_LEXICON.to_dict()
    path = tmp_path / 'lexicon.json'
    path.write_text(json.dumps(data, ensure_ascii=False), encoding='utf-8')
    again = Lexicon.from_json(str(path))
    assert again.fingerprint() == DEFAULT_LEXICON.fingerprint()
    small = Lexicon([TagInfo('opacity', 'abnormal', 'lesion', '影')],
                    [TagTerm('opacity', english=(r'\bshadow', ))])
    assert extract_tags('a shadow', 'en', small) == {'opacity'}
    assert small.fingerprint() != DEFAULT_LEXICON.fingerprint()
    with pytest.raises(ValueError, match="does not define"):
        Lexicon([], [TagTerm('opacity', english=('x', ))])
    with pytest.raises(ValueError, match='Bad english pattern'):
        Lexicon([TagInfo('opacity', 'abnormal', 'lesion')],
                [TagTerm('opacity', english=('(', ))])
    with pytest.raises(ValueError, match='kind must be one of'):
        Lexicon([TagInfo('opacity', 'odd', 'lesion')], [])
    with pytest.raises(ValueError, match='cannot read lexicon'):
        Lexicon.from_json(str(tmp_path / 'missing.json'))


def test_unmatched_clauses():
    reports = ['Ground glass shadow, the right side was dominant.',
               'The right side was dominant.']
    assert unmatched_clauses(reports, 'en') == [
        ('the right side was dominant', 2)
    ]


# ----------------------------------------------------------------------
# Saving and loading
# ----------------------------------------------------------------------
def test_save_load_roundtrip(tmp_path):
    vocab = mine_tag_vocabulary(TRAIN, 'en', min_count=2,
                                source_ann_sha256='a' * 64,
                                split_sha256='b' * 64,
                                split=dict(resplit=None))
    path = tmp_path / 'sub' / 'tags.json'
    labels = {'x': [NO_LN, 'right lung'], 'y': []}
    assert vocab.save(path, labels) == str(path)
    assert os.listdir(path.parent) == ['tags.json']  # no temp file left
    data = json.loads(path.read_text(encoding='utf-8'))
    for key in ('tags', 'abnormal', 'normal', 'counts', 'language', 'version',
                'source_ann_sha256', 'split_sha256', 'miner_version'):
        assert key in data, key
    assert data['labels'] == {'x': ['right lung', NO_LN], 'y': []}
    assert data['version'] == vocab.version and len(vocab.version) == 16
    loaded = TagVocabulary.load(path)
    assert loaded == vocab and loaded.version == vocab.version
    again, got_labels = load_tag_file(path)
    assert again == vocab and got_labels == data['labels']
    # The version depends on the split it was mined from.
    other = mine_tag_vocabulary(TRAIN, 'en', min_count=2,
                                source_ann_sha256='a' * 64,
                                split_sha256='c' * 64)
    assert other.version != vocab.version
    with pytest.raises(TagVocabularyError, match='outside the vocabulary'):
        vocab.save(path, {'x': ['nodule']})


def test_load_errors(tmp_path):
    with pytest.raises(TagVocabularyError, match='missing.json.*not found'):
        TagVocabulary.load(tmp_path / 'missing.json')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"format": ', encoding='utf-8')
    with pytest.raises(TagVocabularyError, match='bad.json.*not valid'):
        TagVocabulary.load(bad)
    bad.write_text('["a", "b"]', encoding='utf-8')
    with pytest.raises(TagVocabularyError, match='not an rrgkit tag'):
        TagVocabulary.load(bad)
    path = tmp_path / 'tags.json'
    mine_tag_vocabulary(TRAIN, 'en', min_count=2).save(path)
    data = json.loads(path.read_text(encoding='utf-8'))
    data['normal'] = []
    data['counts'].pop(NO_LN)
    path.write_text(json.dumps(data), encoding='utf-8')
    with pytest.raises(TagVocabularyError, match='edited after mining'):
        TagVocabulary.load(path)


# ----------------------------------------------------------------------
# The real COV-CTR reports
# ----------------------------------------------------------------------
def test_covctr_vocabularies(covctr_root):
    ann = read_annotation(covctr_root / 'annotation.json')
    train_ids = split_image_ids(ann)['train']
    labels, vocabs = {}, {}
    for language in ('english', 'chinese'):
        reports = reports_by_id(ann, language)
        vocab = mine_tag_vocabulary([reports[i] for i in train_ids], language)
        vocabs[language] = vocab
        assert len(vocab) >= 20 and len(vocab.abnormal) >= 15
        assert len(vocab.normal) >= 5
        assert 'ground-glass opacity' in vocab.abnormal
        assert vocab.counts['ground-glass opacity'] >= 0.4 * len(train_ids)
        lesions = [t for t in vocab.abnormal
                   if vocab.categories[t] == 'lesion']
        assert lesions[0] == 'ground-glass opacity'  # the most frequent
        for tag in ('consolidation', 'nodule', 'pleural effusion',
                    'both lungs', 'subpleural', 'lymph node enlargement'):
            assert tag in vocab.abnormal, (language, tag)
        for tag in ('thorax symmetrical', 'mediastinum centred', NO_LN,
                    'bronchi patent', 'no pleural effusion'):
            assert tag in vocab.normal, (language, tag)
        labels[language] = {
            i: label_report(r, vocab) for i, r in reports.items()
        }
        # Negated findings are never labelled as present.
        cue = ('no enlarged lymph nodes'
               if language == 'english' else '未见肿大淋巴结')
        negated = [i for i, r in reports.items() if cue in r.lower()]
        assert len(negated) > 300
        for i in negated:
            assert NO_LN in labels[language][i], reports[i]
            assert LN not in labels[language][i], reports[i]
    # The English reports translate the Chinese ones: the tags agree.
    for tag in ('ground-glass opacity', 'nodule', 'consolidation'):
        zh = {i for i, t in labels['chinese'].items() if tag in t}
        en = {i for i, t in labels['english'].items() if tag in t}
        assert len(zh & en) >= 0.9 * len(zh | en), tag
