# Copyright (c) rrgkit contributors. All rights reserved.
"""validate_annotation lists every problem of a dataset in one run."""
import json
from pathlib import Path

import numpy as np
from PIL import Image

from rrgkit.datasets.validation import (dataset_specs, validate_annotation,
                                        validate_config)


def _rec(rid, path, report='Clear lungs.', lang='english'):
    return dict(id=rid, image_path=path, report=report, label1=lang)


def write_dataset(root: Path, broken: bool) -> Path:
    """A 3-split dataset; ``broken`` adds one problem of each kind."""
    images = root / 'images'
    images.mkdir(parents=True)
    for name in ('a.png', 'b.png', 'c.png', 'd.png', 'e.png'):
        Image.fromarray(np.full((8, 8), 100, np.uint8)).save(images / name)
    # A 16-bit CT slice and a JPEG saved as .png: both fine.
    Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 60).save(
        images / 'ct16.png')
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(images / 'jpg.png',
                                                        format='JPEG')
    ann = {
        'train': [_rec('a', 'a.png'), _rec('a', 'a.png', '两肺清晰。', 'chinese'),
                  _rec('b', 'b.png'), _rec('ct16', 'ct16.png')],
        'val': [_rec('c', 'c.png'), _rec('jpg', 'jpg.png')],
        'test': [_rec('d', 'd.png'), _rec('e', 'e.png')],
    }
    if broken:
        (images / 'junk.png').write_bytes(b'not an image at all')
        png = (images / 'b.png').read_bytes()
        (images / 'cut.png').write_bytes(png[:len(png) // 2])
        ann['train'] += [
            _rec('gone', 'gone.png'),        # missing image
            _rec('junk', 'junk.png'),        # not an image
            _rec('cut', 'cut.png'),          # truncated
            _rec('blank', 'a.png', '  \n'),  # empty report
            _rec('b', 'b.png', 'Again.'),    # duplicate id
            dict(id='nokey', image_path='a.png', label1='english'),
        ]
        ann['test'].append(_rec('c', 'c.png'))  # also in val
    (root / 'annotation.json').write_text(json.dumps(ann, ensure_ascii=False),
                                          encoding='utf-8')
    return root


def test_clean_dataset_has_no_problems(tmp_path):
    root = write_dataset(tmp_path, broken=False)
    report = validate_annotation(str(root / 'annotation.json'),
                                 str(root / 'images'), language='english')
    assert report.problems == []
    assert report.records == {'train': 3, 'val': 2, 'test': 2}
    assert report.images == 7
    assert report.formats == {'PNG': 6, 'JPEG': 1}
    assert report.suffix_mismatch == 1
    assert 'no problems found' in report.summary()


def test_broken_dataset_lists_every_problem_at_once(tmp_path):
    root = write_dataset(tmp_path, broken=True)
    report = validate_annotation(str(root / 'annotation.json'),
                                 str(root / 'images'), language='english')
    found = {(p.kind, p.severity) for p in report.problems}
    assert found == {('missing image', 'error'),
                     ('undecodable image', 'error'),
                     ('empty report', 'error'), ('duplicate id', 'error'),
                     ('id in two splits', 'error'),
                     ('malformed record', 'error')}
    text = '\n'.join(p.message for p in report.problems)
    assert str(root / 'images' / 'gone.png') in text
    assert 'junk.png' in text and 'cut.png' in text
    assert len([p for p in report.problems
                if p.kind == 'undecodable image']) == 2
    assert "split 'train' record #7, id 'blank': empty 'report'" in text
    assert "split 'train': id 'b' is used by 2 records (#2, #8)" in text
    assert "id 'c' is in splits ['test', 'val']" in text
    assert "id 'nokey': missing key 'report'" in text
    assert 'error: 2 undecodable image' in report.summary()
    # A config that skips empty reports turns them into warnings.
    skip = validate_annotation(str(root / 'annotation.json'),
                               str(root / 'images'), language='english',
                               empty_report='skip', check_images=False)
    assert [p.message for p in skip.warnings] == [
        "split 'train' record #7, id 'blank': empty 'report'"]
    assert skip.formats == {}


def test_unreadable_or_badly_structured_annotation(tmp_path):
    (tmp_path / 'a.json').write_bytes(b'{"train": ["\xff"]}')
    report = validate_annotation(str(tmp_path / 'a.json'), str(tmp_path))
    assert [p.kind for p in report.problems] == ['unreadable annotation']
    assert 'not UTF-8' in report.problems[0].message
    (tmp_path / 'b.json').write_text('[1, 2]')
    report = validate_annotation(str(tmp_path / 'b.json'), str(tmp_path),
                                 splits=['train', 'val'])
    assert [p.kind for p in report.problems] == ['bad annotation structure']
    (tmp_path / 'c.json').write_text('{"train": []}')
    report = validate_annotation(str(tmp_path / 'c.json'), str(tmp_path),
                                 splits=['train', 'val'])
    assert [p.message for p in report.problems] == [
        f"split 'val' is not in {str(tmp_path / 'c.json')!r} (splits: "
        "['train'])", "split 'train' has no record"]


def test_specs_merge_splits_and_skip_generated_data(tmp_path):
    ds = dict(type='ReportDataset', data_root=str(tmp_path),
              ann_file='annotation.json', language='english',
              empty_report='skip')
    cfg = dict(train_dataloader=dict(dataset=dict(ds, split='train')),
               val_dataloader=dict(dataset=dict(ds, split='val')),
               test_dataloader=dict(dataset=dict(type='SyntheticCTDataset')))
    specs = dataset_specs(cfg)
    assert specs[0]['splits'] == ['train', 'val']
    assert specs[0]['img_dir'] == str(tmp_path / 'images')
    assert specs[0]['empty_report'] == 'skip'
    assert specs[1] == dict(skipped='test_dataloader.dataset '
                            '(SyntheticCTDataset) has no ann_file; nothing '
                            'to check')
    write_dataset(tmp_path, broken=False)
    reports, skipped = validate_config(cfg)
    assert len(reports) == 1 and len(skipped) == 1
    assert reports[0].records == {'train': 3, 'val': 2}
    assert reports[0].problems == []


def test_real_covctr_is_clean(covctr_root):
    report = validate_annotation(str(covctr_root / 'annotation.json'),
                                 str(covctr_root / 'images'),
                                 language='english', check_images=False)
    assert report.problems == []
    assert report.records == {'train': 576, 'val': 72, 'test': 72}
    assert report.images == 720
