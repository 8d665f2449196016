# Copyright (c) rrgkit contributors. All rights reserved.
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rrgkit.datasets import (AnnotationError, DatasetError, EmptyReportError,
                             LoadReportImage, MissingImageError,
                             ReportDataset)
from rrgkit.registry import DATASETS

TAGS = ['ground-glass opacity', 'consolidation', 'normal']


def _rec(rid, image_path, report, split, **extra):
    return dict(id=rid,
                image_path=image_path,
                report=report,
                split=split,
                **extra)


def _write_images(root: Path, names):
    (root / 'images').mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        path = root / 'images' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        arr = np.full((24, 32, 3), (40 * i) % 256, dtype=np.uint8)
        Image.fromarray(arr).save(path, format='PNG')


def _make_root(tmp_path: Path, ann=None) -> Path:
    """A tiny R2Gen-style dataset: 3 splits, one multi-view record."""
    if ann is None:
        ann = {
            'train': [
                _rec('a',
                     'a.png',
                     ' Ground glass opacity in the right lung.\n',
                     'train',
                     COVID=1,
                     label1='english',
                     tags=['ground-glass opacity'],
                     boxes=[[2, 4, 10, 12]]),
                _rec('a',
                     'a.png',
                     '右肺磨玻璃影。',
                     'train',
                     COVID=1,
                     label1='chinese',
                     tags=['ground-glass opacity'],
                     boxes=[[2, 4, 10, 12]]),
                _rec('b',
                     'b.png',
                     'The lungs are clear.',
                     'train',
                     COVID=0,
                     label1='english',
                     tags=['normal'],
                     boxes=[]),
            ],
            'val': [
                _rec('c', ['c/0.png', 'c/1.png'],
                     'Two views, no effusion.',
                     'val',
                     COVID=0,
                     label1='english',
                     tags=[],
                     boxes=[]),
            ],
            'test': [
                _rec('d',
                     'd.png',
                     'Consolidation in the left lower lobe.',
                     'test',
                     COVID=1,
                     label1='english',
                     tags=['consolidation'],
                     boxes=[[0, 0, 5, 5]]),
            ],
        }
    names = set()
    for records in ann.values():
        for r in records:
            paths = r.get('image_path')
            paths = [paths] if isinstance(paths, str) else paths
            if isinstance(paths, list):
                names.update(paths)
    _write_images(tmp_path, sorted(names))
    (tmp_path / 'annotation.json').write_text(json.dumps(ann,
                                                         ensure_ascii=False),
                                              encoding='utf-8')
    return tmp_path


def _ds(root, **kwargs):
    return ReportDataset(ann_file='annotation.json',
                         data_root=str(root),
                         **kwargs)


def test_happy_path_single_and_multi_view(tmp_path):
    root = _make_root(tmp_path)
    train = _ds(root, split='train')
    assert len(train) == 3
    info = train.get_data_info(0)
    assert info['img_id'] == 'a'
    assert info['img_path'] == str(root / 'images' / 'a.png')
    assert os.path.isabs(info['img_path'])
    assert info['report'] == 'Ground glass opacity in the right lung.'
    assert 'gt_label' not in info and 'gt_tags' not in info
    assert train.metainfo == dict(split='train', language=None)

    val = _ds(root, split='val')
    assert len(val) == 1
    assert val.get_data_info(0)['img_path'] == [
        str(root / 'images' / 'c' / '0.png'),
        str(root / 'images' / 'c' / '1.png')
    ]


def test_built_from_registry_with_pipeline(tmp_path):
    root = _make_root(tmp_path)
    ds = DATASETS.build(
        dict(type='ReportDataset',
             ann_file='annotation.json',
             data_root=str(root),
             split='test',
             label_key='COVID',
             pipeline=[
                 dict(type='LoadReportImage'),
                 dict(type='Resize', scale=(16, 16), keep_ratio=False),
                 dict(type='PackReportInputs')
             ]))
    out = ds[0]
    assert out['inputs'].shape == (3, 16, 16)
    assert out['data_samples'].gt_label.item() == 1


def test_cache_images_gives_the_same_samples_without_decoding(
        tmp_path, monkeypatch):
    root = _make_root(tmp_path)
    pipeline = [dict(type='LoadReportImage'),
                dict(type='Resize', scale=(16, 16), keep_ratio=False),
                dict(type='PackReportInputs')]
    monkeypatch.setenv('RRGKIT_CACHE', str(tmp_path / 'cache'))
    plain = _ds(root, split='train', pipeline=pipeline)
    cached = _ds(root, split='train', pipeline=pipeline, cache_images='disk')
    assert type(cached.pipeline.transforms[0]).__name__ == 'CachedTransforms'
    plain_inputs = [plain[i]['inputs'] for i in range(len(plain))]
    first = [cached[i] for i in range(len(cached))]

    def no_decoding(self, results):
        raise AssertionError('decoded again')

    # Later epochs read the cache: decoding the files again would fail.
    monkeypatch.setattr(LoadReportImage, 'transform', no_decoding)
    for i, sample in enumerate(first):
        again = cached[i]
        assert torch.equal(again['inputs'], sample['inputs'])
        assert torch.equal(again['inputs'], plain_inputs[i])
    with pytest.raises(AssertionError, match='decoded again'):
        plain[0]
    # One entry per image: both languages of 'a.png' share it.
    images = {cached.get_data_info(i)['img_path'] for i in range(len(cached))}
    assert len(list((tmp_path / 'cache').rglob('*.npz'))) == len(images) == 2


def test_language_filter_and_report_key(tmp_path):
    root = _make_root(tmp_path)
    en = _ds(root, split='train', language='english')
    ids = [en.get_data_info(i)['img_id'] for i in range(len(en))]
    assert ids == ['a', 'b']
    assert en.metainfo['language'] == 'english'
    zh = _ds(root, split='train', language='chinese')
    assert zh.get_reports() == ['右肺磨玻璃影。']
    with pytest.raises(AnnotationError,
                       match=r"values found: \['chinese', "
                       r"'english'\]"):
        _ds(root, split='train', language='French')


def test_label_tags_boxes(tmp_path):
    root = _make_root(tmp_path)
    ds = _ds(root,
             split='train',
             language='english',
             label_key='COVID',
             tags_key='tags',
             tag_names=TAGS,
             boxes_key='boxes')
    a, b = ds.get_data_info(0), ds.get_data_info(1)
    assert a['gt_label'] == 1 and b['gt_label'] == 0
    np.testing.assert_array_equal(a['gt_tags'], [1, 0, 0])
    np.testing.assert_array_equal(b['gt_tags'], [0, 0, 1])
    assert a['gt_tags'].dtype == np.float32
    np.testing.assert_array_equal(a['gt_boxes'], [[2, 4, 10, 12]])
    assert a['gt_boxes'].dtype == np.float32
    assert b['gt_boxes'].shape == (0, 4)
    assert ds.metainfo['tag_names'] == TAGS


def test_tag_names_from_file(tmp_path):
    root = _make_root(tmp_path)
    (root / 'tags.json').write_text(json.dumps({'tags': TAGS}))
    ds = _ds(root, split='test', tags_key='tags', tag_names='tags.json')
    np.testing.assert_array_equal(ds.get_data_info(0)['gt_tags'], [0, 1, 0])
    (root / 'list.json').write_text(json.dumps(TAGS[::-1]))
    ds = _ds(root, split='test', tags_key='tags', tag_names='list.json')
    np.testing.assert_array_equal(ds.get_data_info(0)['gt_tags'], [0, 1, 0])
    assert ds.metainfo['tag_names'] == TAGS[::-1]
    with pytest.raises(DatasetError, match='needs tag_names'):
        _ds(root, split='test', tags_key='tags')


def test_unknown_tag(tmp_path):
    root = _make_root(tmp_path)
    with pytest.raises(AnnotationError) as err:
        _ds(root, split='train', tags_key='tags', tag_names=['normal'])
    msg = str(err.value)
    assert "'ground-glass opacity'" in msg and "id 'a'" in msg
    assert '2 problem(s)' in msg  # both records with the tag, at once


def test_get_reports_does_not_read_images(tmp_path):
    root = _make_root(tmp_path)
    ds = _ds(root, split='train', check_files=False, lazy_init=True)
    for p in (root / 'images').glob('*.png'):
        p.unlink()
    assert ds.get_reports() == [
        'Ground glass opacity in the right lung.', '右肺磨玻璃影。',
        'The lungs are clear.'
    ]


def _many_ids_root(tmp_path, n=20):
    recs = []
    for i in range(n):
        for lang in ('english', 'chinese'):
            recs.append(
                _rec(f'id{i}',
                     f'{i}.png',
                     f'report {i} {lang}',
                     'train',
                     label1=lang))
    ann = {'train': recs[:24], 'val': recs[24:32], 'test': recs[32:]}
    return _make_root(tmp_path, ann)


def test_resplit_deterministic_and_grouped(tmp_path):
    root = _many_ids_root(tmp_path)
    cfg = dict(seed=3, ratios=(0.7, 0.1, 0.2))

    def ids(split, seed_cfg=cfg):
        ds = _ds(root, split=split, resplit=seed_cfg)
        return [ds.get_data_info(i)['img_id'] for i in range(len(ds))]

    splits = {s: ids(s) for s in ('train', 'val', 'test')}
    assert {
        s: len(set(v))
        for s, v in splits.items()
    } == dict(train=14, val=2, test=4)
    # Both languages of an id travel together.
    assert all(len(v) == 2 * len(set(v)) for v in splits.values())
    sets = [set(v) for v in splits.values()]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert set().union(*sets) == {f'id{i}' for i in range(20)}
    assert ids('train') == splits['train']  # deterministic
    other = ids('train', dict(seed=4, ratios=(0.7, 0.1, 0.2)))
    assert set(other) != set(splits['train'])
    en = _ds(root, split='val', resplit=cfg, language='english')
    assert {en.get_data_info(i)['img_id']
            for i in range(len(en))} == set(splits['val'])
    with pytest.raises(DatasetError, match='resplit'):
        _ds(root, split='train', resplit=dict(seed=0, ratios=(1, 1)))


def test_missing_images_listed_at_once(tmp_path):
    root = _make_root(tmp_path)
    (root / 'images' / 'a.png').unlink()
    (root / 'images' / 'b.png').unlink()
    with pytest.raises(MissingImageError) as err:
        _ds(root, split='train')
    msg = str(err.value)
    assert msg.startswith('2 image file(s)')  # a.png is listed once
    assert str(root / 'images' / 'b.png') in msg
    assert str(root / 'images') in msg and 'check_files=False' in msg
    assert len(_ds(root, split='train', check_files=False)) == 3


def test_empty_report_error_and_skip(tmp_path):
    ann = {
        'train': [
            _rec('x', 'x.png', '  \n', 'train'),
            _rec('y', 'y.png', 'Fine.', 'train'),
            _rec('z', 'z.png', '', 'train')
        ]
    }
    root = _make_root(tmp_path, ann)
    with pytest.raises(EmptyReportError) as err:
        _ds(root, split='train')
    msg = str(err.value)
    assert "id 'x'" in msg and "id 'z'" in msg and 'annotation.json' in msg
    assert "empty_report='skip'" in msg
    ds = _ds(root, split='train', empty_report='skip')
    assert ds.get_reports() == ['Fine.']


def test_empty_report_skip_logs_count(tmp_path):
    ann = {
        'train': [
            _rec('x', 'x.png', ' ', 'train'),
            _rec('y', 'y.png', 'Fine.', 'train')
        ]
    }
    root = _make_root(tmp_path, ann)
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance('rrgkit_test_empty', log_level='WARNING')
    records = []

    class _Catch(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    handler = _Catch(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        _ds(root, split='train', empty_report='skip')
    finally:
        logger.removeHandler(handler)
    assert any('skipped 1 record' in m for m in records)


def test_missing_ann_file(tmp_path):
    with pytest.raises(AnnotationError, match='nope.json'):
        ReportDataset(ann_file=str(tmp_path / 'nope.json'))


def test_invalid_json_names_file_and_line(tmp_path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'annotation.json').write_text('{"train": [\n  {"id": 1,}\n]}')
    with pytest.raises(AnnotationError) as err:
        _ds(tmp_path)
    msg = str(err.value)
    assert 'annotation.json' in msg and 'line 2' in msg


def test_not_utf8(tmp_path):
    (tmp_path / 'annotation.json').write_bytes(b'{"train": [\n"\xff"]}')
    with pytest.raises(AnnotationError, match='not UTF-8.*line 2'):
        _ds(tmp_path)


def test_bad_top_level_and_missing_split(tmp_path):
    root = _make_root(tmp_path)
    with pytest.raises(AnnotationError,
                       match=r"available splits: \['test', "
                       r"'train', 'val'\]"):
        _ds(root, split='validation')
    (root / 'annotation.json').write_text(json.dumps([1, 2]))
    with pytest.raises(AnnotationError, match='mapping split names'):
        _ds(root)


def test_record_problems_name_index_and_key(tmp_path):
    ann = {
        'train': [
            _rec('ok', 'ok.png', 'Fine.', 'train'),
            {
                'id': 'k',
                'image_path': 'k.png'
            },
            _rec('t', 5, 'Fine.', 'train'),
            _rec('l', 'l.png', 'Fine.', 'train', COVID='yes'),
        ]
    }
    root = _make_root(tmp_path, ann)
    with pytest.raises(AnnotationError) as err:
        _ds(root, label_key='COVID')
    msg = str(err.value)
    assert "split 'train' record #1, id 'k': missing key 'report'" in msg
    assert "record #2, id 't': key 'image_path' must be" in msg
    assert "record #3, id 'l': key 'COVID' must be an integer" in msg
    assert 'annotation.json' in msg


def test_boxes_rejected_on_multi_view(tmp_path):
    ann = {
        'train': [
            _rec('m', ['m0.png', 'm1.png'],
                 'Fine.',
                 'train',
                 boxes=[[0, 0, 1, 1]])
        ]
    }
    root = _make_root(tmp_path, ann)
    with pytest.raises(AnnotationError, match='single-image records'):
        _ds(root, boxes_key='boxes')


def test_duplicate_and_cross_split_ids(tmp_path):
    ann = {
        'train': [
            _rec('a', 'a.png', 'One.', 'train', label1='english'),
            _rec('a', 'a.png', 'Eins.', 'train', label1='german'),
            _rec('b', 'b.png', 'Two.', 'train', label1='english'),
            _rec('b', 'b2.png', 'Two again.', 'train', label1='english'),
            _rec('c', 'c.png', 'Three.', 'train', label1='english'),
        ],
        'test': [_rec('c', 'c.png', 'Three.', 'test', label1='english')],
    }
    root = _make_root(tmp_path, ann)
    with pytest.raises(AnnotationError) as err:
        _ds(root, split='train', language='english')
    msg = str(err.value)
    assert msg.startswith('2 id problem(s) in annotation file')
    assert "split 'train': id 'b' is used by 2 records (#2, #3) (all " \
        "label1='english')" in msg
    assert "id 'c' is in splits ['test', 'train']" in msg
    assert "id 'a'" not in msg  # one record per language is fine
    assert 'resplit=dict(seed=0)' in msg and 'check_ids=False' in msg
    assert len(_ds(root, split='train', check_ids=False)) == 5
    # A re-split pools the records by id: no leak, but duplicates remain.
    msgs = []
    for split in ('train', 'val', 'test'):
        try:
            _ds(root, split=split, language='english',
                resplit=dict(seed=0, ratios=(1, 1, 1)))
        except AnnotationError as e:
            msgs.append(str(e))
    assert sum("id 'b' is used by 2" in m for m in msgs) == 1
    assert sum("id 'c' is used by 2" in m for m in msgs) == 1
    assert not any('is in splits' in m for m in msgs)


def test_real_covctr_english_train(covctr_root):
    root = covctr_root
    pipeline = [
        dict(type='LoadReportImage'),
        dict(type='Resize', scale=(64, 64), keep_ratio=False),
        dict(type='PackReportInputs')
    ]
    ds = ReportDataset(ann_file='annotation.json',
                       data_root=str(root),
                       split='train',
                       language='english',
                       label_key='COVID',
                       pipeline=pipeline)
    assert len(ds) == 576
    labels = [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]
    assert set(labels) == {0, 1}
    # A ".png" that is JPEG inside (34 such files in the release).
    jpeg_png = next(
        i for i in range(len(ds))
        if ds.get_data_info(i)['img_path'].endswith('.png') and open(
            ds.get_data_info(i)['img_path'], 'rb').read(3) == b'\xff\xd8\xff')
    for idx in [0, 1, 2, jpeg_png]:
        out = ds[idx]
        assert out['inputs'].shape == (3, 64, 64)
        assert out['inputs'].dtype == torch.uint8
        sample = out['data_samples']
        assert sample.gt_report == ds.get_data_info(idx)['report']
        assert sample.gt_report and sample.gt_label.item() in (0, 1)
        assert sample.img_shape == (64, 64)
        assert out['inputs'].float().std() > 0  # a real, non-blank image
