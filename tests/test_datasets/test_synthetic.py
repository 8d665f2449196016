# Copyright (c) rrgkit contributors. All rights reserved.
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rrgkit.datasets.synthetic import (ABNORMAL_TAGS, FINDING_TYPES,
                                       FINDING_WORDS, LABEL_NAMES, NORMAL_TAGS,
                                       TAG_NAMES, SyntheticCTConfig,
                                       conclusion_label, ensure_synthetic_ct,
                                       findings_to_tags, generate_synthetic_ct,
                                       render_case, tags_to_multihot)
from rrgkit.datasets.synthetic import generate as gen_module
from rrgkit.datasets.synthetic.phantom import body_mask

SMALL = dict(num_images=12, image_size=48, seed=3)
# Positive (non-negated) mentions of each finding type in English reports.
POSITIVE = {
    'ground-glass opacity': r'ground glass',
    'consolidation': r'consolidation',
    'nodule': r'nodule',
    'pleural effusion': r'(?<!no )pleural effusion',
    'lymphadenopathy': r'(?<!no )enlarged lymph node',
}
ZH_POSITIVE = {
    'ground-glass opacity': '磨玻璃',
    'consolidation': '实变',
    'nodule': '结节',
    'pleural effusion': '可见(少量|中等量|大量)积液',
    'lymphadenopathy': '可见(轻度|明显)肿大淋巴结'
}


def _records(folder: Path) -> list:
    ann = json.loads((folder / 'annotation.json').read_text(encoding='utf-8'))
    return [r for split in ('train', 'val', 'test') for r in ann[split]]


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    return generate_synthetic_ct(
        tmp_path_factory.mktemp('a') / 'ds', SyntheticCTConfig(**SMALL))


@pytest.fixture(scope='module')
def abnormal(tmp_path_factory):
    cfg = SyntheticCTConfig(num_images=24,
                            image_size=48,
                            seed=5,
                            normal_fraction=0.0)
    return cfg, generate_synthetic_ct(tmp_path_factory.mktemp('b') / 'ds', cfg)


def test_deterministic_and_order_independent(small, tmp_path):
    again = generate_synthetic_ct(tmp_path / 'again',
                                  SyntheticCTConfig(**SMALL))
    assert ((small / 'annotation.json').read_bytes() == (
        again / 'annotation.json').read_bytes())
    assert (small / 'meta.json').read_bytes() == (again /
                                                  'meta.json').read_bytes()
    names = sorted(p.name for p in (small / 'images').iterdir())
    assert names == sorted(p.name for p in (again / 'images').iterdir())
    assert len(names) == 12
    for name in names:
        a = np.asarray(Image.open(small / 'images' / name))
        b = np.asarray(Image.open(again / 'images' / name))
        assert np.array_equal(a, b), name
    # Image 7 alone renders exactly as in the full generation.
    case = render_case(SyntheticCTConfig(**SMALL), 7)
    saved = np.asarray(Image.open(small / 'images' / 'synth_00007.png'))
    assert np.array_equal(case.image, saved)
    # Another seed gives other images.
    other = render_case(SyntheticCTConfig(**{**SMALL, 'seed': 4}), 7)
    assert not np.array_equal(other.image, saved)


def test_files_splits_and_meta(small):
    ann = json.loads((small / 'annotation.json').read_text(encoding='utf-8'))
    assert {
        k: len(v)
        for k, v in ann.items()
    } == {
        'train': 10,
        'val': 1,
        'test': 1
    }
    records = _records(small)
    assert sorted(r['id']
                  for r in records) == [f'synth_{i:05d}' for i in range(12)]
    for split, recs in ann.items():
        assert all(r['split'] == split for r in recs)
    for r in records:
        img = Image.open(small / 'images' / r['image_path'])
        assert (img.mode, img.size) == ('L', (48, 48))
        assert r['image_path'] == r['id'] + '.png'
        assert set(r) >= {
            'report', 'report_zh', 'label', 'tags', 'boxes', 'box_tags',
            'findings'
        }
    meta = json.loads((small / 'meta.json').read_text(encoding='utf-8'))
    assert meta['tag_names'] == list(TAG_NAMES)
    assert meta['abnormal_tags'] + meta['normal_tags'] == list(TAG_NAMES)
    assert meta['label_names'] == list(LABEL_NAMES) == [
        'non-covid', 'covid-like'
    ]
    assert meta['knobs']['num_images'] == 12
    assert meta['split_counts'] == {'train': 10, 'val': 1, 'test': 1}
    assert 10 <= len(TAG_NAMES) <= 20
    counts = SyntheticCTConfig(num_images=12,
                               split_ratio=(2, 1, 1)).split_counts()
    assert counts == {'train': 6, 'val': 3, 'test': 3}


def test_boxes_inside_image_and_body(abnormal):
    cfg, folder = abnormal
    records = _records(folder)
    assert all(r['findings'] for r in records)  # normal_fraction=0
    for r in records:
        index = int(r['id'].split('_')[1])
        body = body_mask(render_case(cfg, index).anatomy) > 0.5
        assert len(r['boxes']) == len(r['box_tags']) >= 1
        for x1, y1, x2, y2 in r['boxes']:
            assert 0 <= x1 < x2 <= 48 and 0 <= y1 < y2 <= 48
            inside = body[int(y1):int(y2), int(x1):int(x2)].mean()
            assert inside >= 0.95, (r['id'], inside)


def test_lesions_brighter_than_normal_tissue(abnormal):
    cfg, _ = abnormal
    for index in range(cfg.num_images):
        case = render_case(cfg, index)
        normal = render_case(cfg, index, with_findings=False)
        assert normal.findings == []
        for finding in case.findings:
            for x1, y1, x2, y2 in finding['boxes']:
                box = np.s_[int(y1):int(y2), int(x1):int(x2)]
                diff = (case.image[box].astype(float).mean() -
                        normal.image[box].astype(float).mean())
                assert diff > 5, (index, finding['type'], diff)
        # Pixels outside every box are untouched by the findings.
        outside = np.ones(case.image.shape, bool)
        for finding in case.findings:
            for x1, y1, x2, y2 in finding['boxes']:
                outside[int(y1):int(y2), int(x1):int(x2)] = False
        delta = np.abs(case.image.astype(int) - normal.image.astype(int))
        assert np.median(delta[outside]) == 0


def test_tags_and_boxes_match_findings(small, abnormal):
    for r in _records(small) + _records(abnormal[1]):
        types = [f['type'] for f in r['findings']]
        assert r['tags'] == findings_to_tags(r['findings'])
        assert [t for t in r['tags'] if t in FINDING_TYPES
                ] == [t for t in FINDING_TYPES if t in types]
        assert sorted(r['box_tags']) == sorted(f['type'] for f in r['findings']
                                               for _ in f['boxes'])
        for f in r['findings']:
            assert len(f['boxes']) == (2 if f['side'] == 'bilateral' else 1)
        hot = tags_to_multihot(r['tags'])
        assert hot.shape == (len(TAG_NAMES), ) and hot.sum() == len(r['tags'])
        if not types:
            assert r['tags'] == list(NORMAL_TAGS) and r['boxes'] == []
        else:
            assert 'no abnormality' not in r['tags']
            assert set(r['tags']) & set(ABNORMAL_TAGS)
    with pytest.raises(ValueError, match='Unknown tag'):
        tags_to_multihot(['pneumothorax'])


def test_reports_describe_findings(small, abnormal):
    records = _records(small) + _records(abnormal[1])
    assert any(not r['findings'] for r in records)
    for r in records:
        text, zh = r['report'], r['report_zh']
        present = {f['type'] for f in r['findings']}
        for kind, pattern in POSITIVE.items():
            assert bool(re.search(pattern, text,
                                  re.I)) == (kind in present), (kind, text)
            assert bool(re.search(ZH_POSITIVE[kind],
                                  zh)) == (kind in present), (kind, zh)
            if kind in present:
                assert FINDING_WORDS[kind] in text
        for f in r['findings']:
            if f['type'] in ('ground-glass opacity', 'consolidation',
                             'nodule'):
                side = {
                    'right': 'right lung',
                    'left': 'left lung',
                    'bilateral': 'both lungs|bilateral lungs'
                }[f['side']]
                assert re.search(side, text), (f, text)
        assert text.startswith('The thorax') and zh.startswith('胸廓对称')


def test_label_rule(small, abnormal):

    def f(kind, side='right', location='peripheral', size='medium'):
        return dict(type=kind, side=side, location=location, size=size)

    assert conclusion_label([]) == 0
    assert conclusion_label([f('nodule'), f('pleural effusion')]) == 0
    assert conclusion_label([f('ground-glass opacity',
                               location='central')]) == 0
    assert conclusion_label([f('ground-glass opacity')]) == 1
    assert conclusion_label([f('consolidation', 'bilateral', 'central')]) == 1
    assert conclusion_label([
        f('ground-glass opacity', 'right', 'central'),
        f('consolidation', 'left', 'central')
    ]) == 1
    assert conclusion_label([
        f('nodule', 'left'),
        f('lymphadenopathy'),
        f('ground-glass opacity', 'right', 'central')
    ]) == 0
    labels = []
    for r in _records(small) + _records(abnormal[1]):
        assert r['label'] == conclusion_label(r['findings'])
        labels.append(r['label'])
    assert 0 < sum(labels) < len(labels)


def test_lesion_mix_and_bad_knobs(tmp_path):
    cfg = SyntheticCTConfig(num_images=6,
                            image_size=32,
                            normal_fraction=0.0,
                            lesion_mix={'nodule': 1.0})
    for i in range(6):
        assert [f['type'] for f in render_case(cfg, i).findings] == ['nodule']
    with pytest.raises(ValueError, match='unknown finding type'):
        SyntheticCTConfig(lesion_mix={'pneumothorax': 1.0})
    with pytest.raises(ValueError, match='image_size'):
        SyntheticCTConfig(image_size=8)
    with pytest.raises(ValueError, match='split_ratio'):
        SyntheticCTConfig(split_ratio=(1.0, -1.0, 0.0))
    with pytest.raises(TypeError, match='valid knobs'):
        ensure_synthetic_ct(cache_root=tmp_path, num_image=3)
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'x.txt').write_text('x')
    with pytest.raises(FileExistsError, match='not empty'):
        generate_synthetic_ct(tmp_path / 'full', cfg)


def test_cache_reuse(tmp_path, monkeypatch):
    knobs = dict(num_images=4, image_size=32, seed=1)
    first = ensure_synthetic_ct(cache_root=tmp_path, **knobs)
    assert first.parent == tmp_path and first.name.startswith('synth_ct_')
    meta_mtime = (first / 'meta.json').stat().st_mtime_ns
    ann_mtime = (first / 'annotation.json').stat().st_mtime_ns
    time.sleep(0.01)
    assert ensure_synthetic_ct(cache_root=tmp_path, **knobs) == first
    assert (first / 'meta.json').stat().st_mtime_ns == meta_mtime
    assert (first / 'annotation.json').stat().st_mtime_ns == ann_mtime
    other = ensure_synthetic_ct(cache_root=tmp_path, **{**knobs, 'seed': 2})
    assert other != first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [first.name, other.name])  # no temp folders left behind
    monkeypatch.setenv('RRGKIT_CACHE', str(tmp_path))
    assert ensure_synthetic_ct(**knobs) == first


def test_atomic_generation(tmp_path, monkeypatch):
    knobs = dict(num_images=4, image_size=32, seed=1)
    key = SyntheticCTConfig(**knobs).cache_key()
    final = tmp_path / f'synth_ct_{key}'
    # A crash mid-way leaves neither the dataset nor a temp folder.
    real = gen_module.render_case

    def crash(cfg, index, with_findings=True):
        if index == 2:
            raise RuntimeError('simulated crash')
        return real(cfg, index, with_findings)

    monkeypatch.setattr(gen_module, 'render_case', crash)
    with pytest.raises(RuntimeError, match='simulated crash'):
        ensure_synthetic_ct(cache_root=tmp_path, **knobs)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(gen_module, 'render_case', real)
    # Leftovers (a fresh and a stale temp folder from killed runs, and an
    # incomplete final folder without meta.json) do not break it.
    fresh = tmp_path / f'.{final.name}.tmp-fresh'
    stale = tmp_path / f'.{final.name}.tmp-stale'
    for folder in (fresh, stale, final):
        (folder / 'images').mkdir(parents=True)
        (folder / 'annotation.json').write_text('{"train": [')
    old = time.time() - 7 * 24 * 3600
    for path in (stale / 'images', stale):
        os.utime(path, (old, old))
    out = ensure_synthetic_ct(cache_root=tmp_path, **knobs)
    assert out == final and len(_records(out)) == 4
    assert json.loads((out / 'meta.json').read_text())['knobs']['seed'] == 1
    assert fresh.exists() and not stale.exists()
    # Another process finishing first wins; our copy is discarded.
    tmp = tmp_path / 'mine'
    generate_synthetic_ct(tmp, SyntheticCTConfig(**knobs))
    before = (final / 'meta.json').stat().st_mtime_ns
    gen_module._move_into_place(tmp, final)
    assert (final / 'meta.json').stat().st_mtime_ns == before
