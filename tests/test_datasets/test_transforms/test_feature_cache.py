# Copyright (c) rrgkit contributors. All rights reserved.
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from rrgkit.datasets import FeatureCacheError, ReportDataset
from rrgkit.datasets.transforms import (LoadCachedFeatures,
                                        feature_cache_pipeline)
from rrgkit.models.backbones import cached_features
from rrgkit.models.backbones.cached_features import arrays_to_visual
from rrgkit.models.utils.visual_features import pool_feature_map
from rrgkit.registry import MODELS
from rrgkit.utils import CheckpointError

TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))
MEAN = torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1)
REPORTS = [
    'The heart is normal.', 'A nodule in the right lung.', 'No effusion.',
    'The lung is clear.'
]


def _image(path, seed, size=(40, 36)):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format='PNG')
    return str(path)


def _start(size=32):
    return [
        dict(type='LoadReportImage'),
        dict(type='Resize', scale=(size, size), keep_ratio=False)
    ]


def _checkpoint(path, seed=0, prefix='backbone.'):
    torch.manual_seed(seed)
    net = MODELS.build(TINY_DENSENET)
    torch.save(
        {'state_dict': {
            prefix + k: v
            for k, v in net.state_dict().items()
        }}, path)
    return str(path)


def _records(tmp_path, n=3):
    folder = tmp_path / 'images'
    folder.mkdir(exist_ok=True)
    return [
        dict(img_path=_image(folder / f'{i}.png', i),
             img_id=str(i),
             report=REPORTS[i]) for i in range(n)
    ]


@pytest.fixture
def calls(monkeypatch):
    """Images that went through the frozen backbone, counted."""
    seen = []
    forward = cached_features.FrozenFeatureExtractor.forward

    def counting(self, images):
        seen.append(len(images))
        return forward(self, images)

    monkeypatch.setattr(cached_features.FrozenFeatureExtractor, 'forward',
                        counting)
    return seen


def _loader(tmp_path, ckpt, start=None, **kwargs):
    return LoadCachedFeatures(transforms=start or _start(),
                              backbone=TINY_DENSENET,
                              checkpoint=ckpt,
                              cache_dir=str(tmp_path / 'features'),
                              device='cpu',
                              **kwargs)


def _frozen(ckpt):
    net = MODELS.build(TINY_DENSENET)
    state = torch.load(ckpt, weights_only=True)['state_dict']
    net.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()})
    net.eval()
    return net


def _normalised(img):
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return (x.float() - MEAN) / STD


def _expected_maps(ckpt, loader, rec):
    """The frozen backbone's maps of the record's resized image(s)."""
    imgs = loader.pipeline(dict(rec))['img']
    imgs = imgs if isinstance(imgs, list) else [imgs]
    with torch.no_grad():
        return _frozen(ckpt)(torch.stack([_normalised(i) for i in imgs]))[-1]


def test_features_are_the_frozen_backbone_maps_and_reused(tmp_path, calls):
    ckpt = _checkpoint(tmp_path / 'a.pth')
    records = _records(tmp_path)
    loader = _loader(tmp_path, ckpt, batch_size=2)
    assert loader.fill(records) == 3
    assert calls == [2, 1]  # batched
    out = loader(dict(records[0]))
    assert 'img' not in out and out['ori_shape'] == (36, 40)
    assert out['img_shape'] == (32, 32) and out['report'] == REPORTS[0]
    feat = out['feats']['feat_map']
    assert feat.dtype == np.float16 and feat.shape == (10, 4, 4)
    expected = _expected_maps(ckpt, loader, records[0])[0].numpy()
    assert np.allclose(feat, expected.astype(np.float16), atol=1e-3)
    assert not np.allclose(feat, _expected_maps(ckpt, loader, records[1])[0])

    again = _loader(tmp_path, ckpt)  # a later run: nothing recomputed
    assert again.fill(records) == 0
    hit = again(dict(records[0]))
    assert calls == [2, 1]
    assert np.array_equal(hit['feats']['feat_map'], feat)
    assert hit['ori_shape'] == out['ori_shape']


def test_changed_checkpoint_pipeline_or_image_is_recomputed(tmp_path, calls):
    ckpt = _checkpoint(tmp_path / 'a.pth')
    records = _records(tmp_path)
    assert _loader(tmp_path, ckpt).fill(records) == 3
    assert _loader(tmp_path, ckpt).fill(records) == 0
    # Other checkpoint bytes under the same path: all recomputed.
    _checkpoint(tmp_path / 'a.pth', seed=1)
    assert _loader(tmp_path, ckpt).fill(records) == 3
    # Another image size: all recomputed.
    assert _loader(tmp_path, ckpt, start=_start(24)).fill(records) == 3
    # One image rewritten (same size, other pixels): that one only.
    st = os.stat(records[1]['img_path'])
    _image(records[1]['img_path'], seed=7)
    os.utime(records[1]['img_path'],
             ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _loader(tmp_path, ckpt).fill(records) == 1
    assert _loader(tmp_path, ckpt, start=_start(24)).fill(records) == 1
    assert sum(calls) == 3 + 3 + 3 + 1 + 1
    assert _loader(tmp_path, ckpt).fill(records) == 0


def test_a_miss_at_loading_time_is_computed_alone(tmp_path, calls):
    ckpt = _checkpoint(tmp_path / 'a.pth')
    rec = _records(tmp_path, n=1)[0]
    loader = _loader(tmp_path, ckpt, dtype='float32')
    first = loader(dict(rec))
    assert calls == [1] and first['feats']['feat_map'].dtype == np.float32
    # A cut entry is not trusted: computed and written again.
    path = loader.entry_path(loader.cache_key(rec))
    path.write_bytes(path.read_bytes()[:50])
    second = _loader(tmp_path, ckpt, dtype='float32')(dict(rec))
    assert calls == [1, 1]
    assert np.array_equal(first['feats']['feat_map'],
                          second['feats']['feat_map'])


def test_multi_view_features_pool_like_the_backbone(tmp_path):
    ckpt = _checkpoint(tmp_path / 'a.pth')
    recs = _records(tmp_path, n=2)
    rec = dict(img_path=[r['img_path'] for r in recs], report='x')
    start = [
        dict(type='LoadReportImage'),
        dict(
            type='EachView',
            transforms=[dict(type='Resize', scale=(32, 32), keep_ratio=False)])
    ]
    loader = _loader(tmp_path, ckpt, start=start, dtype='float32')
    maps = loader(dict(rec))['feats']['feat_map']
    assert maps.shape == (2, 10, 4, 4)
    expected = _expected_maps(ckpt, loader, rec).numpy()
    assert np.allclose(maps, expected, atol=1e-5)
    visual = arrays_to_visual({'feat_map': torch.from_numpy(maps)[None]})
    direct = pool_feature_map(torch.from_numpy(maps), 2)
    assert torch.equal(visual.global_feat, direct.global_feat)
    assert visual.tokens.shape == (1, 32, 10)


def test_region_proposer_output_is_cached(tmp_path):
    torch.manual_seed(0)
    proposer_cfg = dict(type='CAMThresholdProposer',
                        region_backbone=TINY_DENSENET,
                        num_tags=3,
                        crop_size=16)
    proposer = MODELS.build(dict(proposer_cfg, in_channels=10))
    net = MODELS.build(TINY_DENSENET)
    state = {f'backbone.{k}': v for k, v in net.state_dict().items()}
    state.update({
        f'region_proposer.{k}': v
        for k, v in proposer.state_dict().items()
    })
    torch.save({'state_dict': state}, tmp_path / 'both.pth')
    rec = _records(tmp_path, n=1)[0]
    loader = _loader(tmp_path,
                     str(tmp_path / 'both.pth'),
                     dtype='float32',
                     region_proposer=proposer_cfg)
    feats = loader(dict(rec))['feats']
    assert {
        'visual.global_feat', 'visual.tokens', 'visual.feat_map',
        'visual.extras.region_boxes', 'visual.extras.tag_logits'
    } <= set(feats)
    batch = {k: torch.from_numpy(v)[None] for k, v in feats.items()}
    visual = arrays_to_visual(batch)
    x = _normalised(loader.pipeline(dict(rec))['img'])[None]
    net.eval()
    proposer.eval()
    with torch.no_grad():
        direct = pool_feature_map(net(x)[-1], 1)
        direct, _ = proposer(x, direct)
    assert torch.allclose(visual.global_feat, direct.global_feat, atol=1e-5)
    assert torch.allclose(visual.extras['region_boxes'],
                          direct.extras['region_boxes'].float())


@pytest.mark.parametrize('transform,name', [
    (dict(type='RandomFlip', prob=0.5), 'RandomFlip'),
    (dict(type='RandomAffineView', max_rotate_degree=5), 'RandomAffineView'),
    (dict(type='EachView',
          transforms=[dict(type='ColorJitter', brightness=0.2)
                      ]), 'ColorJitter'),
])
def test_random_augmentation_is_refused_by_name(tmp_path, transform, name):
    ckpt = _checkpoint(tmp_path / 'a.pth')
    pipeline = _start() + [transform, dict(type='PackReportInputs')]
    with pytest.raises(FeatureCacheError,
                       match=f'{name} in the pipeline is '
                       'a random augmentation'):
        feature_cache_pipeline(pipeline,
                               dict(backbone=TINY_DENSENET, checkpoint=ckpt))


def test_bad_options_name_the_key_or_file(tmp_path):
    pipeline = _start() + [dict(type='PackReportInputs')]
    ckpt = _checkpoint(tmp_path / 'a.pth')
    with pytest.raises(FeatureCacheError, match=r"key\(s\) \['bakbone'"):
        feature_cache_pipeline(pipeline, dict(bakbone=TINY_DENSENET))
    with pytest.raises(FeatureCacheError, match="needs 'checkpoint'"):
        feature_cache_pipeline(pipeline, dict(backbone=TINY_DENSENET))
    with pytest.raises(FeatureCacheError, match='PackReportInputs'):
        feature_cache_pipeline(pipeline[:2],
                               dict(backbone=TINY_DENSENET, checkpoint=ckpt))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _loader(tmp_path, str(tmp_path / 'missing.pth'))
    rec = _records(tmp_path, n=1)[0]
    with pytest.raises(CheckpointError, match="prefix 'model.'"):
        _loader(tmp_path, ckpt, prefix='model.').fill([rec])
    with pytest.raises(FeatureCacheError, match='dtype'):
        _loader(tmp_path, ckpt, dtype='int8')
    state = torch.load(ckpt, weights_only=True)['state_dict']
    del state['backbone.stem.0.weight']
    torch.save({'state_dict': state}, tmp_path / 'partial.pth')
    with pytest.raises(CheckpointError, match='random initialisation'):
        _loader(tmp_path, str(tmp_path / 'partial.pth')).fill([rec])


def _annotation(tmp_path, n=4):
    recs = _records(tmp_path, n)
    ann = {
        'train': [
            dict(id=r['img_id'],
                 image_path=f"{r['img_id']}.png",
                 report=r['report']) for r in recs
        ]
    }
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    return str(tmp_path / 'ann.json')


def test_dataset_option_fills_once_and_packs_features(tmp_path, calls):
    ckpt = _checkpoint(tmp_path / 'a.pth')
    cfg = dict(
        ann_file=_annotation(tmp_path),
        data_root=str(tmp_path),
        pipeline=_start() + [dict(type='PackReportInputs')],
        cache_images='disk',  # replaced by the feature cache
        feature_cache=dict(backbone=TINY_DENSENET,
                           checkpoint=ckpt,
                           device='cpu',
                           batch_size=3,
                           cache_dir=str(tmp_path / 'features')))
    ds = ReportDataset(**cfg)
    assert calls == [3, 1]  # when built, in this process
    item = ds[2]
    assert set(item['inputs']) == {'feat_map'}
    assert item['inputs']['feat_map'].dtype == torch.float16
    assert item['data_samples'].img_shape == (32, 32)
    assert item['data_samples'].gt_report == REPORTS[2]
    assert not (tmp_path / 'cache').exists()
    ReportDataset(**cfg)[0]
    assert calls == [3, 1]
