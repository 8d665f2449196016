# Copyright (c) rrgkit contributors. All rights reserved.
"""The top-level ``cached_features`` switch of a config."""
import os.path as osp

import pytest
from mmengine.config import Config

from rrgkit.apis.pipeline import stage_options
from rrgkit.utils.cached_features_cfg import (CachedFeaturesConfigError,
                                              apply_cached_features)
from rrgkit.utils.setup_env import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NIC = osp.join(REPO, 'configs', 'nic_synth.py')
SCST = osp.join(REPO, 'configs', 'scst',
                'scst_nic_densenet_tiny_1xb16_3e_synth.py')
OPTIONS = {'cached_features.checkpoint': 'bb.pth',
           'cached_features.prefix': '',
           'cached_features.out_channels': 10,
           'cached_features.image_size': 48}


def _check(cfg, backbone_type):
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        cache = dataset.feature_cache
        assert cache.checkpoint == 'bb.pth' and cache.prefix == ''
        assert cache.backbone.type == backbone_type
        assert 'out_channels' not in cache and 'image_size' not in cache
        assert [s.scale for s in dataset.pipeline if 'scale' in s] == [
            (48, 48)]
        assert 'cache_images' not in dataset


def test_options_turn_the_model_to_cached_features_and_reload(tmp_path):
    plain = Config.fromfile(NIC)
    cfg = load_config(NIC, dict(OPTIONS))
    assert cfg.model.backbone == dict(type='CachedFeatures',
                                      out_channels=10)
    _check(cfg, plain.model.backbone.type)
    # the work dir's dump loads to the same config
    cfg.dump(str(tmp_path / 'dumped.py'))
    again = load_config(str(tmp_path / 'dumped.py'))
    assert again.model.backbone == cfg.model.backbone
    assert again.train_dataloader.dataset.feature_cache == \
        cfg.train_dataloader.dataset.feature_cache


def test_a_wrapped_generator_gets_it_too():
    cfg = load_config(SCST, dict(OPTIONS))
    assert cfg.model.generator.backbone.type == 'CachedFeatures'
    assert 'backbone' not in cfg.model


def test_without_the_key_nothing_changes():
    cfg = Config.fromfile(NIC)
    assert apply_cached_features(cfg) is False
    assert 'feature_cache' not in cfg.train_dataloader.dataset


def test_bad_settings_are_refused_with_the_key():
    with pytest.raises(CachedFeaturesConfigError, match='out_channels'):
        load_config(NIC, {'cached_features.checkpoint': 'x.pth'})
    cfg = Config.fromfile(NIC)
    cfg.cached_features = dict(checkpoint='x', out_channels=4)
    cfg.model.backbone = dict(type='CachedFeatures', out_channels=4)
    with pytest.raises(CachedFeaturesConfigError, match='no backbone'):
        apply_cached_features(cfg, 'c.py')


def test_pipeline_stages_with_data_get_the_options():
    stages = {'a': Config(dict(train_dataloader=dict(x=1))),
              'b': Config(dict(model=dict()))}
    assert stage_options(['cached_features.out_channels=4'], stages) == {
        'a': ['cached_features.out_channels=4'], 'b': []}
