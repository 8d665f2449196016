# Copyright (c) rrgkit contributors. All rights reserved.
import os

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose, Resize
from PIL import Image

from rrgkit.datasets.transforms import (CachedTransforms, EachView,
                                        LoadReportImage, PackReportInputs,
                                        cache_pipeline)
from rrgkit.datasets.transforms import loading
from rrgkit.datasets.transforms.caching import default_transform_cache_dir
from rrgkit.registry import TRANSFORMS

PREFIX = [
    dict(type='LoadReportImage'),
    dict(type='Resize', scale=(8, 6), keep_ratio=False)
]


def _write(path, seed=0, size=(15, 11), fmt='PNG', mode='RGB'):
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == 'RGB' else (size[1], size[0])
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8),
                    mode).save(path, format=fmt)
    return str(path)


def _compose(transforms):
    return Compose([TRANSFORMS.build(t) for t in transforms])


def _cached(tmp_path, **kwargs):
    kwargs.setdefault('cache_dir', str(tmp_path / 'cache'))
    return CachedTransforms(transforms=PREFIX, **kwargs)


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert b[k].dtype == a[k].dtype
            np.testing.assert_array_equal(b[k], a[k])
        elif isinstance(a[k], list) and isinstance(a[k][0], np.ndarray):
            for x, y in zip(a[k], b[k]):
                assert y.dtype == x.dtype
                np.testing.assert_array_equal(y, x)
        else:
            assert type(b[k]) is type(a[k]) and b[k] == a[k], k


def _no_decode(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError('decoded although cached')

    monkeypatch.setattr(loading, 'read_image', fail)


@pytest.mark.parametrize('fmt,mode', [('PNG', 'RGB'), ('JPEG', 'RGB'),
                                      ('PNG', 'L')])
def test_disk_hit_equals_uncached(tmp_path, monkeypatch, fmt, mode):
    path = _write(tmp_path / 'x.img', fmt=fmt, mode=mode)
    record = dict(img_path=path, report='a b .', img_id='x')
    plain = _compose(PREFIX)(dict(record))
    cached = _cached(tmp_path)
    first = cached(dict(record))
    _assert_same(plain, first)
    assert plain['img'].shape == (6, 8, 3) and plain['ori_shape'] == (11, 15)
    files = list((tmp_path / 'cache').rglob('*.npz'))
    assert len(files) == 1

    _no_decode(monkeypatch)
    again = _cached(tmp_path)(dict(record))  # a new instance: a later run
    _assert_same(plain, again)


def test_full_pipeline_packs_identical_inputs(tmp_path, monkeypatch):
    path = _write(tmp_path / 'x.png')
    record = dict(img_path=path, report='a b .', img_id='x')
    plain = _compose(PREFIX + [dict(type='PackReportInputs')])(dict(record))
    pipe = Compose([_cached(tmp_path), PackReportInputs()])
    pipe(dict(record))
    _no_decode(monkeypatch)
    hit = pipe(dict(record))
    assert torch.equal(hit['inputs'], plain['inputs'])
    assert hit['data_samples'].metainfo == plain['data_samples'].metainfo


def test_boxes_are_part_of_the_key(tmp_path):
    path = _write(tmp_path / 'x.png')
    cached = _cached(tmp_path)
    for boxes in ([[0, 0, 15, 11]], [[3, 2, 9, 7]], [[0, 0, 15, 11]]):
        record = dict(img_path=path, gt_boxes=np.array(boxes, np.float32))
        plain = _compose(PREFIX)(dict(record))
        out = cached(dict(record))
        _assert_same(plain, out)
        assert 'gt_boxes' not in out  # moved to gt_bboxes, also on a hit
    np.testing.assert_allclose(out['gt_bboxes'], [[0, 0, 8, 6]])
    assert len(list((tmp_path / 'cache').rglob('*.npz'))) == 2


def test_multi_view_with_each_view(tmp_path, monkeypatch):
    paths = [_write(tmp_path / 'a.png', 1), _write(tmp_path / 'b.png', 2)]
    prefix = [LoadReportImage(), EachView([Resize(scale=(4, 4))])]
    plain = Compose(prefix)(dict(img_path=paths))
    cached = CachedTransforms(prefix, cache_dir=str(tmp_path / 'cache'))
    _assert_same(plain, cached(dict(img_path=paths)))
    _no_decode(monkeypatch)
    hit = cached(dict(img_path=paths))
    _assert_same(plain, hit)
    assert [img.shape for img in hit['img']] == [(4, 4, 3)] * 2


def test_changed_file_or_setting_is_a_new_entry(tmp_path):
    path = _write(tmp_path / 'x.png', seed=0)
    record = dict(img_path=path)
    cached = _cached(tmp_path)
    first = cached(dict(record))['img']
    _write(tmp_path / 'x.png', seed=1, size=(16, 11))  # other size: new key
    os.utime(path, ns=(1, 1))
    second = cached(dict(record))['img']
    np.testing.assert_array_equal(second,
                                  _compose(PREFIX)(dict(record))['img'])
    assert not np.array_equal(first, second)
    other = CachedTransforms(
        [LoadReportImage(), Resize(scale=(5, 5))],
        cache_dir=str(tmp_path / 'cache'))
    assert other.cache_key(record) != cached.cache_key(record)
    assert other(dict(record))['img'].shape == (5, 5, 3)


@pytest.mark.parametrize('garbage', [b'', b'not a zip', None])
def test_corrupt_entry_is_rebuilt(tmp_path, garbage):
    path = _write(tmp_path / 'x.png')
    record = dict(img_path=path)
    cached = _cached(tmp_path)
    plain = cached(dict(record))
    entry = cached.entry_path(cached.cache_key(record))
    if garbage is None:  # a valid file holding another key's entry
        np.savez(str(entry)[:-4], __meta__=np.array('{"key": "x"}'))
    else:
        entry.write_bytes(garbage)
    _assert_same(plain, cached(dict(record)))
    assert cached._load(cached.cache_key(record)) is not None  # rewritten


def test_memory_cache_returns_copies(tmp_path, monkeypatch):
    path = _write(tmp_path / 'x.png')
    cached = _cached(tmp_path, cache='memory')
    plain = cached(dict(img_path=path))
    plain['img'][:] = 0  # a later transform editing the image in place
    _no_decode(monkeypatch)
    hit = cached(dict(img_path=path))
    assert hit['img'].any()
    hit['img'][:] = 0
    assert cached(dict(img_path=path))['img'].any()
    assert not (tmp_path / 'cache').exists()


def test_default_dir_and_errors(tmp_path, monkeypatch):
    monkeypatch.setenv('RRGKIT_CACHE', str(tmp_path))
    assert default_transform_cache_dir() == str(tmp_path / 'transforms')
    cached = TRANSFORMS.build(dict(type='CachedTransforms', transforms=PREFIX))
    path = _write(tmp_path / 'x.png')
    cached(dict(img_path=path))
    assert len(list((tmp_path / 'transforms').rglob('*.npz'))) == 1
    with pytest.raises(ValueError, match='RandomFlip'):
        CachedTransforms([dict(type='RandomFlip', prob=0.5)])
    with pytest.raises(ValueError, match='cache'):
        CachedTransforms(PREFIX, cache='ram')
    missing = dict(img_path=str(tmp_path / 'missing.png'))
    with pytest.raises(loading.MissingImageError):
        cached(missing)


def test_cache_pipeline_wraps_the_deterministic_start(tmp_path):
    pipeline = PREFIX + [
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackReportInputs')
    ]
    new = cache_pipeline(pipeline, cache='memory', cache_dir='x')
    assert new[1:] == pipeline[2:] and len(pipeline) == 4
    assert new[0]['type'] == 'rrgkit.datasets.CachedTransforms'
    assert new[0]['transforms'] == PREFIX and new[0]['cache'] == 'memory'
    assert cache_pipeline(new) == new  # already cached: unchanged
    packed = cache_pipeline([PackReportInputs()])  # nothing to cache
    assert len(packed) == 1 and isinstance(packed[0], PackReportInputs)
    built = TRANSFORMS.build(new[0])
    assert isinstance(built, CachedTransforms)
    path = _write(tmp_path / 'x.png')
    _assert_same(_compose(PREFIX)(dict(img_path=path)),
                 built(dict(img_path=path)))
