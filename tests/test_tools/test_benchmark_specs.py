# Copyright (c) rrgkit contributors. All rights reserved.
"""The benchmark specs in configs/benchmarks/ name configs that load."""
import argparse
import glob
import os.path as osp

import pytest
from mmengine.config import Config, DictAction

from rrgkit.apis.benchmark import load_benchmark, plan_runs
from rrgkit.apis.pipeline import _has_parent, stage_options
from rrgkit.utils.setup_env import load_config
from .conftest import REPO

SPECS = sorted(glob.glob(osp.join(REPO, 'configs', 'benchmarks', '*.py')))


@pytest.mark.parametrize('spec_path', SPECS, ids=osp.basename)
def test_spec_configs_exist_and_load(spec_path):
    spec = load_benchmark(spec_path)
    assert len(spec['seeds']) >= 3
    names = set()
    for method in spec['methods']:
        for key in ('config', 'test_config'):
            if method.get(key):
                path = osp.join(REPO, method[key])
                assert osp.isfile(path), path
                if key == 'test_config' or not method.get('stage'):
                    load_config(path)
        names.add(method['name'])
    assert spec['reference'] in names
    assert plan_runs(spec)


def _has_key(cfg, option):
    """Whether the key of ``key=value`` exists (not only its parent).

    ``cached_features.*`` and ``model.decode_cfg.*`` add keys (load_config
    checks them).
    """
    if option.startswith(('cached_features.', 'model.decode_cfg.')):
        return True
    return _has_parent(cfg, option.split('=')[0] + '.leaf')


def _parse(options):
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--o', *options]).o if options else {}


@pytest.mark.parametrize('spec_path', SPECS, ids=osp.basename)
def test_spec_options_fit_every_config(spec_path):
    """The spec's and methods' cfg_options name keys the configs have."""
    spec = load_benchmark(spec_path)
    for method in spec['methods']:
        if method.get('kind') == 'sanity':
            continue
        options = [*spec.get('cfg_options', []),
                   *method.get('cfg_options', [])]
        path = osp.join(REPO, method['config'])
        cfg = Config.fromfile(path)
        if cfg.get('stages'):
            here = osp.dirname(path)
            stage_cfgs = {s['name']: Config.fromfile(osp.join(
                here, s['config'])) for s in cfg.stages}
            per_stage = stage_options(options, stage_cfgs)
            for stage in cfg.stages:
                for option in per_stage[stage['name']]:
                    assert _has_key(stage_cfgs[stage['name']], option), (
                        method['name'], stage['name'], option)
                stage_path = osp.join(here, stage['config'])
                load_config(stage_path, _parse(
                    per_stage[stage['name']] + stage.get('cfg_options', [])))
        else:
            for option in options:
                assert _has_key(cfg, option), (method['name'], option)
            load_config(path, _parse(options))
        if method.get('test_config'):
            test_path = osp.join(REPO, method['test_config'])
            test_cfg = Config.fromfile(test_path)
            if 'test_cfg_options' in method:
                options = [*spec.get('cfg_options', []),
                           *method['test_cfg_options']]
            for option in options:
                assert _has_key(test_cfg, option), (method['name'], option)
            load_config(test_path, _parse(options))


def test_chinese_spec_leaves_no_english_setting():
    """Every method of the Chinese spec reads Chinese everywhere: data,
    tokenizer corpus, tags, prior graph, SCST corpus, CE metric."""
    spec = load_benchmark(osp.join(REPO, 'configs', 'benchmarks',
                                   'covctr_zh_cached_224px.py'))
    checked = 0
    for method in spec['methods']:
        if method.get('kind') == 'sanity' or method.get('stage'):
            continue
        runs = [(method['config'], method.get('cfg_options', []))]
        if method.get('test_config'):
            runs.append((method['test_config'],
                         method.get('test_cfg_options',
                                    method.get('cfg_options', []))))
        for config, options in runs:
            cfg = load_config(osp.join(REPO, config), _parse(options))
            used = ('model', 'train_dataloader', 'val_dataloader',
                    'test_dataloader', 'val_evaluator', 'test_evaluator',
                    'custom_hooks')  # not the configs' helper variables
            text = Config({k: cfg[k] for k in used if k in cfg}).pretty_text
            for english in ("'english'", 'covctr_tags_en', "language='en'",
                            "eval_tokenizer='ptb'"):
                assert english not in text, (method['name'], english)
            checked += 1
    assert checked >= 15
