# Copyright (c) rrgkit contributors. All rights reserved.
import json
import os
from pathlib import Path

import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from rrgkit.datasets.errors import AnnotationError, DatasetError
from rrgkit.datasets.textbook_dataset import (PackTextInputs, TextbookDataset,
                                              clean_sentences,
                                              split_sentences)
from rrgkit.registry import DATASETS, TRANSFORMS
from rrgkit.structures import ReportDataSample

TEXTBOOK = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
            'textbook').resolve()
EN_FILE, ZH_FILE = ('medquad_thoracic_en.json',
                    'covid19_diagnosis_treatment_protocol_v7_zh_ocr.txt')

RECORDS = [
    dict(question='What is pneumonia ?',
         answer='Pneumonia is an infection of the lungs. It causes fever '
         'and cough! Bad? Dr. Smith says the dose is 3.5 mg '
         'per day.'),
    dict(question='What is pneumonia ?',
         answer='Key Points\n    - Pneumonia is an infection of the '
         'lungs.    - Chest x rays show it clearly.\n\nSigns and '
         'Symptoms\nFeeling short of breath\nHigh fever'),
    dict(question='How is it treated ?',
         answer='Antibiotics treat bacterial pneumonia. Rest. '
         '12.5 %% ...'),
]


def _json(tmp_path, records=RECORDS, name='book.json'):
    path = tmp_path / name
    path.write_text(json.dumps(records), encoding='utf-8')
    return path


def test_split_english_keeps_decimals_and_abbreviations():
    text = ('The dose is 3.5 mg. Take it twice! Why? Ask Dr. Smith, e.g. '
            'Before meals. Fever of 38.5 C is common.\nSee J. Doe et al. '
            'for details.')
    assert split_sentences(text, 'en') == [
        'The dose is 3.5 mg.', 'Take it twice!', 'Why?',
        'Ask Dr. Smith, e.g. Before meals.', 'Fever of 38.5 C is common.',
        'See J. Doe et al. for details.'
    ]


def test_split_english_lines_bullets_and_wrapped_lines():
    text = ('Key Points\n  - Smoking is the main risk factor.    - Radon '
            'is another.\nThe lungs bring oxygen into\nthe body, and\n'
            'carbon dioxide out (a waste\nProduct).\nNo effusion\n\n'
            'New paragraph here.')
    assert split_sentences(text, 'en') == [
        'Key Points', 'Smoking is the main risk factor.',
        'Radon is another.',
        'The lungs bring oxygen into the body, and carbon dioxide out '
        '(a waste Product).', 'No effusion', 'New paragraph here.'
    ]


def test_split_chinese_on_marks_newlines_and_ocr_breaks():
    text = ('肺部可见磨玻璃影。病变以外带为主！是否典型？多为双侧；可伴实变\n'
            '早期呈现多发小斑片影，\n以肺外带明显\n'
            '磷酸氯喹(18岁至65岁成人\n体重大于50公斤者）每日2次\n'
            '1\n'
            '部分细胞\f内可见包涵体\n'
            '病毒对紫外线敏感\n，乙醚可灭活病毒')
    assert split_sentences(text, 'zh') == [
        '肺部可见磨玻璃影。', '病变以外带为主！', '是否典型？', '多为双侧', '可伴实变',
        '早期呈现多发小斑片影，以肺外带明显', '磷酸氯喹(18岁至65岁成人体重大于50公斤者）每日2次',
        '1', '部分细胞内可见包涵体', '病毒对紫外线敏感，乙醚可灭活病毒'
    ]


def test_clean_filters_dedupes_and_drops_fragments():
    sentences = [
        'Key Points', 'Short.', 'Pneumonia is an infection.',
        'pneumonia  is an INFECTION.', '12.5 % ... 30 / 40', 'x' * 50,
        'Shortness of breath', 'Feeling short of breath at rest'
    ]
    assert clean_sentences(sentences, 'en', min_chars=10, max_chars=40) == [
        'Pneumonia is an infection.', 'Feeling short of breath at rest'
    ]
    zh = ['值得注意的是重型患者可为中低热', '患者可为中低热', '重型、危重型患者常有炎症因子升高', '2.3-4.5%']
    assert clean_sentences(zh, 'zh', min_chars=5) == [zh[0], zh[1], zh[2]]
    assert clean_sentences(zh, 'zh', min_chars=5,
                           drop_fragments=True) == [zh[0], zh[2]]


def test_dataset_items_fields_and_registry(tmp_path):
    _json(tmp_path)
    ds = DATASETS.build(
        dict(type='TextbookDataset', ann_file='book.json',
             data_root=str(tmp_path), val_ratio=0,
             pipeline=[dict(type='PackTextInputs')]))
    expected = [
        'Pneumonia is an infection of the lungs.',
        'It causes fever and cough!',
        'Dr. Smith says the dose is 3.5 mg per day.',
        'Chest x rays show it clearly.', 'Feeling short of breath',
        'Antibiotics treat bacterial pneumonia.'
    ]
    assert ds.get_reports() == expected
    assert ds.get_data_info(2) == dict(
        img_id='tb_000002', report=expected[2], sample_idx=2)
    assert ds.metainfo['split'] == 'train'
    item = ds[0]
    assert torch.equal(item['inputs'], torch.zeros(1))
    assert isinstance(item['data_samples'], ReportDataSample)
    assert item['data_samples'].gt_report == expected[0]
    assert item['data_samples'].img_id == 'tb_000000'
    # Questions are read too when asked for (the repeated one once).
    both = TextbookDataset(str(_json(tmp_path)), val_ratio=0,
                           fields=('question', 'answer'))
    assert both.get_reports()[:2] == [
        'What is pneumonia ?', 'Pneumonia is an infection of the lungs.'
    ]
    assert both.get_reports().count('What is pneumonia ?') == 1


def test_split_is_seeded_disjoint_and_complete(tmp_path):
    sentences = [f'Sentence number {i} is about the lungs.' for i in range(40)]
    path = _json(tmp_path, [dict(answer=' '.join(sentences))])

    def ids(split, seed=0):
        ds = TextbookDataset(str(path), split=split, val_ratio=0.25, seed=seed,
                             serialize_data=False)  # skips a slow gc
        return [d['img_id'] for d in ds.load_data_list()]

    train, val = ids('train'), ids('val')
    assert len(val) == 10 and len(train) == 30
    assert not set(train) & set(val)
    assert sorted(train + val) == [f'tb_{i:06d}' for i in range(40)]
    assert ids('val') == val  # deterministic
    assert train == sorted(train)  # text order kept
    assert ids('val', seed=1) != val
    # A tiny file still gets one validation sentence.
    small = _json(tmp_path, [dict(answer=' '.join(sentences[:3]))], 's.json')
    assert len(TextbookDataset(str(small), split='val')) == 1
    assert len(TextbookDataset(str(small), split='train')) == 2


def test_plain_text_file(tmp_path):
    path = tmp_path / 'book.txt'
    path.write_text('胸部影像学早期呈现多发小斑片影及间质改变。\n进而发展为双肺多发磨玻璃影、\n浸润影\n'
                    '（三）易感人群\n12 34\n', encoding='utf-8')
    ds = TextbookDataset(str(path), language='zh', val_ratio=0, min_chars=5)
    assert ds.get_reports() == ['胸部影像学早期呈现多发小斑片影及间质改变。',
                                '进而发展为双肺多发磨玻璃影、浸润影', '（三）易感人群']


def test_clear_errors(tmp_path):
    with pytest.raises(AnnotationError, match='not found.*nope.json'):
        TextbookDataset('nope.json', data_root=str(tmp_path))
    with pytest.raises(AnnotationError, match='not found.*nope.txt'):
        TextbookDataset(str(tmp_path / 'nope.txt'))
    bad = _json(tmp_path, {'answer': 'x'}, 'dict.json')
    with pytest.raises(AnnotationError, match='dict.json.*JSON list'):
        TextbookDataset(str(bad))
    bad = _json(tmp_path, [dict(answer='Fine sentence here.'), dict(q='x'),
                           dict(answer=3), 'text'], 'keys.json')
    with pytest.raises(AnnotationError) as err:
        TextbookDataset(str(bad))
    msg = str(err.value)
    assert 'keys.json' in msg and "record #1: key 'answer' is missing" in msg
    assert "record #2: key 'answer' is not a string (int)" in msg
    assert 'record #3 is str' in msg
    with pytest.raises(DatasetError, match='no sentence left.*min_chars=500'):
        TextbookDataset(str(_json(tmp_path)), min_chars=500, max_chars=600)
    with pytest.raises(DatasetError, match='.json list of records or a .txt'):
        TextbookDataset(str(tmp_path / 'book.csv'))
    with pytest.raises(DatasetError, match="split must be one of"):
        TextbookDataset(str(_json(tmp_path)), split='test')
    with pytest.raises(DatasetError, match='fields must be'):
        TextbookDataset(str(_json(tmp_path)), fields='answer')
    latin1 = tmp_path / 'latin1.txt'
    latin1.write_bytes('Caf\xe9 is not a lung disease.'.encode('latin-1'))
    with pytest.raises(AnnotationError, match='latin1.txt.*not UTF-8'):
        TextbookDataset(str(latin1))
    with pytest.raises(DatasetError, match="results\\['report'\\]"):
        PackTextInputs()(dict(img_id='tb_000001'))


def test_feeds_an_mmengine_dataloader(tmp_path):
    pack = TRANSFORMS.build(dict(type='PackTextInputs'))
    ds = TextbookDataset(str(_json(tmp_path)), val_ratio=0, pipeline=[pack])
    batch = next(iter(DataLoader(ds, batch_size=4, collate_fn=pseudo_collate)))
    assert len(batch['inputs']) == 4
    assert [s.gt_report for s in batch['data_samples']] == ds.get_reports()[:4]


@pytest.fixture
def textbook_root() -> Path:
    if not (TEXTBOOK / EN_FILE).is_file():
        pytest.skip(f'real textbook data not found at {TEXTBOOK} (a machine '
                    'without ../shared/data/textbook)')
    return TEXTBOOK


def test_real_textbooks_load(textbook_root):
    en = {s: TextbookDataset(EN_FILE, data_root=str(textbook_root), split=s)
          for s in ('train', 'val')}
    n_en = len(en['train']) + len(en['val'])
    assert 4000 < n_en < 7000
    assert abs(len(en['val']) - round(0.05 * n_en)) <= 1
    sentences = en['train'].get_reports()
    assert all(10 <= len(s) <= 300 for s in sentences)
    assert len(set(sentences)) == len(sentences)
    assert 'Smoking is the major risk factor for non-small cell lung cancer.' \
        in sentences + en['val'].get_reports()
    zh = TextbookDataset(ZH_FILE, data_root=str(textbook_root),
                         language='zh', val_ratio=0)
    reports = zh.get_reports()
    assert 150 < len(reports) < 300
    # An OCR page break inside a sentence is joined; page numbers dropped.
    assert 'II型肺泡上皮细胞和巨噬细胞内可见包涵体' in reports
    assert not any(r.strip().isdigit() for r in reports)
    assert os.path.isabs(zh.ann_file)
