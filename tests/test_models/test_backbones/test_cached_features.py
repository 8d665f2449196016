# Copyright (c) rrgkit contributors. All rights reserved.
import json

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from PIL import Image

from rrgkit.datasets import FeatureCacheError, ReportDataset
from rrgkit.models import CachedFeatures
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils.visual_features import pool_feature_map
from rrgkit.registry import MODELS

TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))
REPORTS = [
    'The heart is normal. No effusion.',
    'A nodule in the right lung. No effusion.',
    'The heart is normal. A nodule in the left lung.',
    'No nodule. The lung is clear.'
]


def test_name_is_free_in_mmpretrain_and_it_pools_like_a_backbone():
    assert 'CachedFeatures' not in MMPRETRAIN_MODELS.module_dict
    maps = torch.rand(2, 3, 5, 4, 4)  # (B, V, C, h, w)
    visual = MODELS.build(dict(type='CachedFeatures', out_channels=5))({
        'feat_map':
        maps.half()
    })
    direct = pool_feature_map(maps.half().float().flatten(0, 1), 3)
    assert torch.equal(visual.global_feat, direct.global_feat)
    assert torch.equal(visual.tokens, direct.tokens)
    assert visual.tokens.shape == (2, 48, 5)
    assert visual.global_feat.dtype == torch.float32


def test_mismatches_are_one_clear_error():
    cached = CachedFeatures(out_channels=7)
    with pytest.raises(FeatureCacheError, match='holds images'):
        cached(torch.zeros(2, 3, 32, 32))
    with pytest.raises(FeatureCacheError,
                       match='out_channels=7 but the cached features have 5'):
        cached({'feat_map': torch.zeros(2, 5, 4, 4)})
    tok = ReportTokenizer(language='en').build_vocab(REPORTS)
    decoder = dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8)
    with pytest.raises(ValueError, match='model.region_proposer needs images'):
        MODELS.build(
            dict(type='ReportGenerator',
                 backbone=cached,
                 decoder=decoder,
                 tokenizer=tok,
                 region_proposer=dict(type='AASProposer')))
    model = MODELS.build(
        dict(type='ReportGenerator',
             backbone=TINY_DENSENET,
             decoder=decoder,
             tokenizer=tok))
    with pytest.raises(FeatureCacheError, match='model.backbone is DenseNet'):
        model.extract_feat({'feat_map': torch.zeros(2, 10, 4, 4)})


def _dataset(tmp_path, ckpt=None, dtype='float16'):
    folder = tmp_path / 'images'
    if not folder.exists():
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i in range(len(REPORTS)):
            Image.fromarray(rng.integers(0, 256, (40, 36, 3),
                                         np.uint8)).save(folder / f'{i}.png')
        ann = {
            'train': [
                dict(id=str(i), image_path=f'{i}.png', report=r)
                for i, r in enumerate(REPORTS)
            ]
        }
        (tmp_path / 'ann.json').write_text(json.dumps(ann))
    cfg = dict(ann_file=str(tmp_path / 'ann.json'),
               data_root=str(tmp_path),
               pipeline=[
                   dict(type='LoadReportImage'),
                   dict(type='Resize', scale=(32, 32), keep_ratio=False),
                   dict(type='PackReportInputs')
               ])
    if ckpt is not None:
        cfg['feature_cache'] = dict(backbone=TINY_DENSENET,
                                    checkpoint=ckpt,
                                    dtype=dtype,
                                    device='cpu',
                                    cache_dir=str(tmp_path / 'features'))
    ds = ReportDataset(**cfg)
    return pseudo_collate([ds[i] for i in range(len(ds))])


def _train_step(model, batch):
    """One SGD step; the loss before and after it."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.5)
    model.train()
    model.backbone.eval()  # frozen: eval-mode BN (a no-op when cached)
    data = model.data_preprocessor(batch, True)
    loss = model(**data, mode='loss')['loss_report']
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        after = model(**data, mode='loss')['loss_report']
    return loss.item(), after.item()


@pytest.mark.parametrize('dtype,tol', [('float32', 1e-5), ('float16', 2e-3)])
def test_one_training_step_on_cached_features_equals_frozen_backbone(
        tmp_path, dtype, tol):
    torch.manual_seed(0)
    tok = ReportTokenizer(language='en').build_vocab(REPORTS)
    decoder = dict(type='LSTMDecoder',
                   embed_dims=16,
                   hidden_dims=24,
                   dropout=0.0)
    frozen = MODELS.build(
        dict(type='ReportGenerator',
             backbone=TINY_DENSENET,
             decoder=decoder,
             tokenizer=tok,
             max_len=20))
    frozen.backbone.requires_grad_(False)
    ckpt = str(tmp_path / 'backbone.pth')
    torch.save({'state_dict': frozen.state_dict()}, ckpt)
    cached = MODELS.build(
        dict(type='ReportGenerator',
             backbone=dict(type='CachedFeatures', out_channels=10),
             decoder=decoder,
             tokenizer=tok,
             max_len=20))
    cached.load_state_dict(frozen.state_dict(), strict=False)

    plain = _train_step(frozen, _dataset(tmp_path))
    fast = _train_step(cached, _dataset(tmp_path, ckpt, dtype))
    assert plain[1] < plain[0]  # the step changed the decoder
    assert fast == pytest.approx(plain, rel=tol)
    for name, value in cached.decoder.state_dict().items():
        assert torch.allclose(value,
                              frozen.decoder.state_dict()[name],
                              atol=10 * tol)
