# Copyright (c) rrgkit contributors. All rights reserved.
"""Run tools/*.py in-process on a tiny synthetic setup."""
import importlib.util
import itertools
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_RUN = itertools.count()


def load_tool(name):
    """Import ``tools/<name>.py`` as a module."""
    path = osp.join(REPO, 'tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'rrgkit_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_synth_options(cache_root, max_epochs=2):
    """``--cfg-options`` that shrink configs/nic_synth.py to seconds."""
    data = dict(num_images=40, image_size=32, cache_root=str(cache_root))
    opts = [f'train_cfg.max_epochs={max_epochs}',
            f'experiment_name=tiny{next(_RUN)}',
            'model.backbone.arch.growth_rate=4',
            'model.backbone.arch.depths=[1,1]',
            'model.backbone.arch.init_channels=8',
            'model.decoder.embed_dims=16', 'model.decoder.hidden_dims=16',
            'model.max_len=30', 'model.beam_size=2',
            'train_dataloader.batch_size=8', 'val_dataloader.batch_size=8',
            'test_dataloader.batch_size=8', 'default_hooks.logger.interval=1',
            'env_cfg.mp_cfg.mp_start_method=fork']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.append(f'{loader}.num_workers=0')
        opts.append(f'{loader}.persistent_workers=False')
        for key, value in data.items():
            opts.append(f'{loader}.dataset.{key}={value}')
    for key, value in data.items():
        opts.append(f'model.tokenizer.corpus.{key}={value}')
    opts.append('model.tokenizer.min_freq=1')
    return opts


@pytest.fixture(scope='session')
def train_tool():
    return load_tool('train')


@pytest.fixture(scope='session')
def test_tool():
    return load_tool('test')
