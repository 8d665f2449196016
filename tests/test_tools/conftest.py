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
    module_name = 'rrgkit_tool_' + name.replace('/', '_')
    spec = importlib.util.spec_from_file_location(module_name, path)
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


def synth_data_options(cache_root, keys):
    """Point every synthetic dataset config at a 40-image, 32 px set."""
    data = dict(num_images=40, image_size=32, cache_root=str(cache_root))
    return [f'{key}.{k}={v}' for key in keys for k, v in data.items()]


LOADERS = [f'{split}_dataloader.dataset' for split in ('train', 'val', 'test')]


def loader_options(batch_size=8):
    opts = []
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False',
                 f'{split}_dataloader.batch_size={batch_size}']
    return opts


def tiny_asgk_stage_options(cache_root, stage, max_epochs=1):
    """Options for the synthetic ASGK stage configs (tiny and fast)."""
    tiny = ['arch.growth_rate=4', 'arch.depths=[1,1]', 'arch.init_channels=8']
    opts = [f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=1',
            f'experiment_name=asgk_{stage}{next(_RUN)}',
            'default_hooks.logger.interval=1',
            'model.region_proposer.crop_size=32']
    opts += [f'model.backbone.{t}' for t in tiny]
    opts += [f'model.region_proposer.region_backbone.{t}' for t in tiny]
    keys = list(LOADERS)
    if stage == 'full':
        opts += ['model.encoder.d_model=16', 'model.encoder.num_heads=2',
                 'model.decoder.d_model=16', 'model.decoder.num_heads=2',
                 'model.decoder.ffn_dims=32', 'model.max_len=30',
                 'model.tokenizer.min_freq=1']
        keys += ['model.tokenizer.corpus', 'model.encoder.prior_graph.corpus']
    return opts + loader_options() + synth_data_options(cache_root, keys)
