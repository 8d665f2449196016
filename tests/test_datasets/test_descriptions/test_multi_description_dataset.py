# Copyright (c) rrgkit contributors. All rights reserved.
import json

import numpy as np
import pytest
from PIL import Image

from rrgkit.datasets import (AnnotationError, DatasetError,
                             MissingImageError, MultiDescriptionDataset)
from rrgkit.registry import DATASETS

NAMES = ['nuclei', 'crowding']
P1 = dict(id='p1',
          image_path='p1.png',
          descriptions={
              'nuclei': ['Mild pleomorphism.', 'Mild atypia'],
              'crowding': ['Mild crowding.', '']
          },
          conclusion=['Low grade.', 'Low grade carcinoma.'],
          label=0)
P2 = dict(id='p2',
          image_path='p2.png',
          descriptions=['Severe pleomorphism', 'Crowded cells.'],
          label=1)
P3 = dict(id='p3',
          image_path='p3.png',
          descriptions={'crowding': 'No crowding.', 'nuclei': 'Normal.'},
          conclusion='Normal tissue.',
          label=0)


def _root(tmp_path, ann):
    (tmp_path / 'images').mkdir(parents=True, exist_ok=True)
    for split, records in ann.items():
        if split == 'meta':
            continue
        for rec in records:
            if isinstance(rec, dict) and isinstance(rec.get('image_path'),
                                                    str):
                Image.fromarray(np.full((32, 32), 7, np.uint8)).save(
                    tmp_path / 'images' / rec['image_path'])
    (tmp_path / 'ann.json').write_text(json.dumps(ann), encoding='utf-8')
    return tmp_path


def _ds(root, **kwargs):
    return MultiDescriptionDataset('ann.json', data_root=str(root), **kwargs)


def _default_ann():
    return {
        'meta': {
            'description_names': NAMES,
            'conclusion_classes': ['low grade', 'high grade']
        },
        'train': [P1, P2],
        'test': [P3]
    }


def test_native_format(tmp_path):
    root = _root(tmp_path, _default_ann())
    ds = _ds(root)
    assert ds.metainfo == dict(split='train',
                               description_names=('nuclei', 'crowding'),
                               conclusion_classes=('low grade',
                                                   'high grade'))
    assert len(ds) == 2
    p1 = ds.get_data_info(0)
    assert p1['img_id'] == 'p1'
    assert p1['img_path'] == str(root / 'images' / 'p1.png')
    assert p1['descriptions'] == ['Mild pleomorphism.', 'Mild crowding.']
    assert p1['conclusion'] == 'Low grade.'
    # References: every annotator's joined descriptions ('' skipped, '.'
    # added where missing).
    assert p1['references'] == ['Mild pleomorphism. Mild crowding.',
                                'Mild atypia.']
    assert p1['report'] == 'Mild pleomorphism. Mild crowding.'
    assert p1['gt_label'] == 0 and p1['annotator'] == 0
    p2 = ds.get_data_info(1)  # list form, one annotator, no conclusion
    assert p2['descriptions'] == ['Severe pleomorphism', 'Crowded cells.']
    assert p2['references'] == ['Severe pleomorphism. Crowded cells.']
    assert p2['conclusion'] == ''
    # Dict order in the record does not matter; a string is one annotator.
    p3 = _ds(root, split='test').get_data_info(0)
    assert p3['descriptions'] == ['Normal.', 'No crowding.']
    assert p3['conclusion'] == 'Normal tissue.'


def test_annotators_and_pipeline(tmp_path):
    root = _root(tmp_path, _default_ann())
    each = _ds(root, annotator='each')
    assert [(i['img_id'], i['annotator']) for i in
            (each.get_data_info(k) for k in range(len(each)))] == [
                ('p1', 0), ('p1', 1), ('p2', 0)]
    second = each.get_data_info(1)
    assert second['descriptions'] == ['Mild atypia', '']
    assert second['conclusion'] == 'Low grade carcinoma.'
    assert second['report'] == 'Mild atypia.'
    assert each.get_references()[1] == each.get_references()[0]
    ds = DATASETS.build(
        dict(type='MultiDescriptionDataset',
             ann_file='ann.json',
             data_root=str(root),
             pipeline=[
                 dict(type='LoadReportImage'),
                 dict(type='PackReportInputs')
             ]))
    out = ds[0]
    assert out['inputs'].shape == (3, 32, 32)
    sample = out['data_samples']
    assert sample.gt_descriptions == ['Mild pleomorphism.', 'Mild crowding.']
    assert sample.gt_conclusion == 'Low grade.'
    assert sample.gt_report == 'Mild pleomorphism. Mild crowding.'
    assert sample.references == ['Mild pleomorphism. Mild crowding.',
                                 'Mild atypia.']
    assert sample.gt_label.item() == 0
    with pytest.raises(AnnotationError,
                       match="id 'p2': has 1 annotator.*annotator=1"):
        _ds(root, annotator=1)
    with pytest.raises(DatasetError, match="'each'"):
        _ds(root, annotator=-1)


def test_names_inferred_templates_and_chinese(tmp_path):
    ann = {'train': [P1, P3]}
    root = _root(tmp_path, ann)
    ds = _ds(root, lazy_init=True, label_key=None)
    assert 'description_names' not in ds.metainfo  # not read yet
    ds.full_init()
    assert ds.metainfo['description_names'] == ('nuclei', 'crowding')
    assert 'gt_label' not in ds.get_data_info(0)
    given = _ds(root, lazy_init=True, description_names=NAMES)
    assert given.metainfo['description_names'] == ('nuclei', 'crowding')
    listed = _root(tmp_path / 'l', {'train': [P2]})
    assert _ds(listed).metainfo['description_names'] == ('description_0',
                                                         'description_1')
    templated = _ds(listed, conclusion_templates={1: 'High grade.'})
    assert templated.get_conclusions() == ['High grade.']
    assert templated.metainfo['conclusion_templates'] == {1: 'High grade.'}
    with pytest.raises(AnnotationError, match="id 'p2': label 1 has no "
                       'conclusion template'):
        _ds(listed, conclusion_templates={0: 'Low grade.'})
    zh = dict(id='z', image_path='z.png', descriptions=['细胞核轻度异型', ''],
              label=0)
    zroot = _root(tmp_path / 'z', {'train': [zh]})
    assert _ds(zroot, language='zh').get_reports() == ['细胞核轻度异型。']


def test_every_bad_record_listed(tmp_path):
    bad = [
        dict(P1, id='no_desc', descriptions=None),
        {k: v for k, v in P1.items() if k != 'descriptions'} | {'id': 'gone'},
        dict(P1, id='missing', descriptions={'nuclei': ['x', 'y']}),
        dict(P1, id='unknown', descriptions={**P1['descriptions'],
                                             'mitosis': ['z', 'z']}),
        dict(P2, id='short', descriptions=['only one']),
        dict(P1, id='uneven', descriptions={'nuclei': ['a', 'b'],
                                            'crowding': ['c']}),
        dict(P1, id='concl', conclusion=['one only']),
        dict(P1, id='lab', label='high'),
        dict(P1, id='range', label=5),
        dict(P1, id='blank', descriptions={'nuclei': ['a', ''],
                                           'crowding': ['b', ' ']}),
        dict(P1, id='types', descriptions={'nuclei': [1, 2],
                                           'crowding': ['b', 'c']}),
        'not a record',
    ]
    root = _root(tmp_path, {'meta': _default_ann()['meta'], 'train': bad})
    with pytest.raises(AnnotationError) as err:
        _ds(root)
    msg = str(err.value)
    assert msg.startswith('12 problem(s) in multi-description annotation '
                          'file')
    expected = [
        "id 'no_desc': key 'descriptions' must be a dict",
        "id 'gone': missing key 'descriptions'",
        "id 'missing': key 'descriptions' lacks description(s) ['crowding']",
        "id 'unknown': key 'descriptions' has description(s) ['mitosis']",
        "id 'short': key 'descriptions' has 1 texts, expected K=2",
        "id 'uneven': descriptions have different numbers of annotators per "
        "name: {'nuclei': 2, 'crowding': 1}",
        "id 'concl': key 'conclusion' must be a string or a list of 2",
        "id 'lab': key 'label' must be an integer",
        "id 'range': key 'label' is 5, outside the 2 conclusion_classes",
    ]
    for line in expected:
        assert line in msg, line
    # format_problems shows 10 lines, then counts the rest.
    assert '... and 2 more' in msg
    assert 'label_key=None' in msg and 'description_names' in msg
    root2 = _root(tmp_path / 'b', {'train': bad[9:]})
    with pytest.raises(AnnotationError) as err:
        _ds(root2, description_names=NAMES)
    msg = str(err.value)
    assert "id 'blank': annotator #1 has only empty descriptions" in msg
    assert "id 'types': description 'nuclei' must be a string or a " \
        'non-empty list of strings' in msg
    assert "split 'train' record #2: is str, not an object" in msg


def test_file_level_errors(tmp_path):
    root = _root(tmp_path, _default_ann())
    with pytest.raises(AnnotationError, match='disagrees with "meta"'):
        _ds(root, description_names=['a', 'b'])
    with pytest.raises(AnnotationError, match=r"available splits: \['test', "
                       r"'train'\]"):
        _ds(root, split='val')
    (root / 'images' / 'p2.png').unlink()
    with pytest.raises(MissingImageError, match='p2.png'):
        _ds(root)
    assert len(_ds(root, check_files=False)) == 2
    empty = _root(tmp_path / 'e', {'train': [dict(P1, descriptions={})]})
    with pytest.raises(AnnotationError, match='no description_names'):
        _ds(empty)
    (root / 'ann.json').write_text(json.dumps({'meta': [1], 'train': []}))
    with pytest.raises(AnnotationError, match='"meta" object'):
        _ds(root)
    with pytest.raises(DatasetError, match='need labels'):
        _ds(root, label_key=None, conclusion_templates={0: 'x'})


def test_resplit_keeps_all_annotators(tmp_path):
    records = [dict(P3, id=f'i{k}', image_path=f'i{k}.png') for k in range(10)]
    root = _root(tmp_path, {'train': records[:6], 'test': records[6:]})
    ids = {
        s: [i['img_id'] for i in
            (d.get_data_info(k) for d in [_ds(root, split=s, resplit=dict(
                seed=1, ratios=(0.6, 0.2, 0.2)), label_key=None)]
             for k in range(len(d)))]
        for s in ('train', 'val', 'test')
    }
    assert [len(v) for v in ids.values()] == [6, 2, 2]
    assert sorted(sum(ids.values(), [])) == sorted(r['id'] for r in records)
