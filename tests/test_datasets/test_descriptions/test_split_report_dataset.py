# Copyright (c) rrgkit contributors. All rights reserved.
import json

import numpy as np
import pytest
from PIL import Image

from rrgkit.datasets import AnnotationError, DatasetError, SplitReportDataset
from rrgkit.models.tokenizers import build_tokenizer
from rrgkit.registry import DATASETS

PIPELINE = [
    dict(type='LoadReportImage'),
    dict(type='PackReportInputs')
]


def _root(tmp_path, records):
    (tmp_path / 'images').mkdir()
    for rec in records:
        Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(
            tmp_path / 'images' / rec['image_path'])
    (tmp_path / 'annotation.json').write_text(
        json.dumps({'train': records}, ensure_ascii=False), encoding='utf-8')
    return tmp_path


def _rec(rid, report, covid, language='english'):
    return dict(id=rid, image_path=f'{rid}.png', report=report, COVID=covid,
                label1=language)


RECORDS = [
    _rec('a', 'The thorax was symmetrical, no enlarged lymph nodes were seen '
         'in the mediastinum. Ground glass shadow in the right lung, with '
         'blurred margins. The bronchi of the lobe were clear, and no '
         'abnormal density shadow was seen in the bilateral thoracic '
         'cavity.', 1),
    _rec('a', '胸廓对称，双肺见磨玻璃影，边缘模糊。叶段支气管通畅，双侧胸腔内未见异常密度影。', 1,
         'chinese'),
    _rec('b', 'The thorax was symmetrical. The texture of both lungs was '
         'clear.', 0),
]


def test_covctr_preset_on_tiny_file(tmp_path):
    root = _root(tmp_path, RECORDS)
    ds = DATASETS.build(
        dict(type='SplitReportDataset',
             report_splitter='covctr_en',
             ann_file='annotation.json',
             data_root=str(root),
             language='english',
             label_key='COVID',
             pipeline=PIPELINE))
    assert len(ds) == 2
    meta = ds.metainfo
    assert meta['description_names'] == ('thorax_mediastinum', 'lungs',
                                         'bronchi', 'pleura')
    assert meta['conclusion_classes'] == ('non_covid', 'covid')
    assert meta['conclusion_templates'][0] == \
        'no evidence of covid-19 pneumonia.'
    assert meta['split'] == 'train' and meta['language'] == 'english'
    info = ds.get_data_info(0)
    assert info['descriptions'] == [
        'The thorax was symmetrical, no enlarged lymph nodes were seen in '
        'the mediastinum.',
        'Ground glass shadow in the right lung, with blurred margins.',
        'The bronchi of the lobe were clear.',
        'And no abnormal density shadow was seen in the bilateral thoracic '
        'cavity.'
    ]
    assert info['conclusion'] == 'findings consistent with covid-19 pneumonia.'
    assert info['references'] == [info['report']] == [RECORDS[0]['report']]
    assert info['gt_label'] == 1
    assert ds.get_descriptions()[1] == [
        'The thorax was symmetrical.', 'The texture of both lungs was clear.',
        '', ''
    ]
    assert ds.get_conclusions() == [
        'findings consistent with covid-19 pneumonia.',
        'no evidence of covid-19 pneumonia.'
    ]
    assert ds.get_reports() == [RECORDS[0]['report'], RECORDS[2]['report']]
    # A tokenizer built on this corpus learns the conclusion words too.
    assert ds.get_vocab_texts() == ds.get_reports() + ds.get_conclusions()
    tok = build_tokenizer(dict(language='en', min_freq=1, corpus=ds))
    assert 'pneumonia' in tok.vocab and 'evidence' in tok.vocab
    sample = ds[1]['data_samples']
    assert sample.gt_descriptions[0] == 'The thorax was symmetrical.'
    assert sample.gt_conclusion == 'no evidence of covid-19 pneumonia.'
    assert sample.gt_reports == [RECORDS[2]['report']]
    assert ds[1]['inputs'].shape == (3, 32, 32)


def test_chinese_and_no_conclusion(tmp_path):
    root = _root(tmp_path, RECORDS)
    zh = SplitReportDataset('annotation.json', 'covctr_zh',
                            data_root=str(root), language='chinese',
                            label_key='COVID')
    assert zh.get_descriptions() == [[
        '胸廓对称。', '双肺见磨玻璃影，边缘模糊。', '叶段支气管通畅。', '双侧胸腔内未见异常密度影。'
    ]]
    assert zh.get_conclusions() == ['考虑新型冠状病毒肺炎。']
    plain = SplitReportDataset('annotation.json',
                               dict(preset='covctr_en',
                                    conclusion_templates=None),
                               data_root=str(root), language='english')
    assert plain.get_conclusions() == ['', '']
    assert plain.get_vocab_texts() == plain.get_reports()
    assert 'conclusion_templates' not in plain.metainfo
    assert 'gt_label' not in plain.get_data_info(0)


def test_errors(tmp_path):
    root = _root(tmp_path, RECORDS)
    with pytest.raises(DatasetError, match="label_key='COVID'"):
        SplitReportDataset('annotation.json', 'covctr_en',
                           data_root=str(root), language='english')
    strict = dict(groups=[('thorax', ['thorax'])], other='error',
                  conclusion_templates={0: 'normal.'})
    with pytest.raises(AnnotationError) as err:
        SplitReportDataset('annotation.json', strict, data_root=str(root),
                           language='english', label_key='COVID')
    msg = str(err.value)
    # Both records are listed, each with what went wrong.
    assert msg.startswith("2 report(s) of split 'train'")
    assert "id 'a': label 1 has no conclusion template" in msg
    assert "id 'b': No group matches a clause" in msg
    assert "other='previous'" in msg
    # Errors of the inner ReportDataset come through unchanged.
    with pytest.raises(AnnotationError, match="available splits"):
        SplitReportDataset('annotation.json', 'covctr_en',
                           data_root=str(root), split='val',
                           label_key='COVID')


def test_real_covctr_english(covctr_root):
    ds = SplitReportDataset('annotation.json', 'covctr_en',
                            data_root=str(covctr_root), split='val',
                            language='english', label_key='COVID',
                            empty_report='skip', pipeline=PIPELINE)
    assert len(ds) == 72
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert len(info['descriptions']) == 4
        assert info['conclusion'] in ds.metainfo['conclusion_templates'
                                                 ].values()
    sample = ds[0]['data_samples']
    assert len(sample.gt_descriptions) == 4 and sample.gt_conclusion


def test_another_report_dataset_as_source(tmp_path):
    ds = SplitReportDataset(
        report_splitter='covctr_en',
        source=dict(type='SyntheticCTDataset', split='val', num_images=30,
                    image_size=32, cache_root=str(tmp_path)))
    assert len(ds) == len(ds.source.load_data_list()) > 0
    info = ds.get_data_info(0)
    assert len(info['descriptions']) == 4
    assert info['conclusion'] in ('no evidence of covid-19 pneumonia.',
                                  'findings consistent with covid-19 '
                                  'pneumonia.')
    with pytest.raises(DatasetError, match='either as source or'):
        SplitReportDataset(report_splitter='covctr_en', split='val',
                           source=dict(type='SyntheticCTDataset'))
    with pytest.raises(DatasetError, match='needs report_splitter'):
        SplitReportDataset('annotation.json')
