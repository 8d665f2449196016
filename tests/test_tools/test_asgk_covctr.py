# Copyright (c) rrgkit contributors. All rights reserved.
"""ASGK's COV-CTR pipeline (tags mined, 3 stages) on a few real images.

The stage configs are the real ones; the test shrinks them (a handful of
images and sentences at 64 px, one epoch, a small decoder) so it runs in
seconds. docs/asgk.md has the real CPU schedule.
"""
import json
import os.path as osp

import pytest
import torch

from rrgkit.utils.checkpoint import safe_load_checkpoint
from .conftest import REPO, load_tool

ASGK = osp.join(REPO, 'configs', 'asgk')
TEXTBOOK = (osp.join(REPO, '..', 'shared', 'data', 'textbook'))


def _loader_opts(n, pipeline_scale=True):
    opts = []
    for split, count in (('train', n), ('val', 4), ('test', 4)):
        opts += [f'{split}_dataloader.dataset.indices={count}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False',
                 f'{split}_dataloader.batch_size=4']
        if pipeline_scale:
            opts.append(f'{split}_dataloader.dataset.pipeline.1.scale=(64,64)')
    return opts


def _common(tags_file, covctr, tag):
    return [f'experiment_name=asgk_cov_{tag}', 'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1', 'default_hooks.logger.interval=1']


DECODER = ['model.decoder.d_model=32', 'model.decoder.num_heads=2',
           'model.decoder.ffn_dims=64']


@pytest.fixture
def tags_file(covctr_root, tmp_path):
    if not osp.isdir(TEXTBOOK):
        pytest.skip(f'textbook data not found at {TEXTBOOK}')
    out = str(tmp_path / 'tags_en.json')
    load_tool('dataset_converters/mine_tags').main(
        [str(covctr_root / 'annotation.json'), '--language', 'english',
         '--out', out])
    return out


def test_asgk_covctr_three_stages(covctr_root, tags_file, tmp_path,
                                  train_tool):
    tb = f'model.tokenizer.corpus.1.data_root={TEXTBOOK}'
    report_corpus = [f'model.tokenizer.corpus.0.data_root={covctr_root}',
                     f'model.tokenizer.corpus.0.tags_file={tags_file}']
    visual = ['model.region_proposer.crop_size=64']
    graph = ['model.encoder.d_model=32', 'model.encoder.num_heads=2',
             f'model.encoder.prior_graph.corpus.data_root={covctr_root}',
             f'model.encoder.prior_graph.corpus.tags_file={tags_file}',
             'model.max_len=24']
    tags = [f'{s}_dataloader.dataset.tags_file={tags_file}'
            for s in ('train', 'val', 'test')]
    roots = [f'{s}_dataloader.dataset.data_root={covctr_root}'
             for s in ('train', 'val', 'test')]
    stage1 = (_common(tags_file, covctr_root, 'tb') + DECODER +
              [tb, *report_corpus] +
              [f'{s}_dataloader.dataset.data_root={TEXTBOOK}'
               for s in ('train', 'val')] +
              _loader_opts(8, pipeline_scale=False)[:8] +
              ['model.embed_dims=16', 'model.gru_hidden=32',
               'model.memory_channels=32', 'model.max_len=24'])
    stage2 = (_common(tags_file, covctr_root, 'vis') + visual + tags +
              roots + _loader_opts(8))
    stage3 = (_common(tags_file, covctr_root, 'full') + DECODER + visual +
              graph +
              tags + roots + [tb, *report_corpus] + _loader_opts(8))
    stages = [
        dict(name='textbook',
             config=osp.join(ASGK, 'asgk_stage1_textbook_covctr_en.py'),
             cfg_options=stage1),
        dict(name='visual',
             config=osp.join(
                 ASGK, 'asgk_stage2_densenet121_1xb16_10e_covctr_en.py'),
             cfg_options=stage2),
        dict(name='full',
             config=osp.join(
                 ASGK, 'asgk_stage3_densenet121_1xb16_10e_covctr_en.py'),
             init_from=['visual', 'textbook'], cfg_options=stage3),
    ]
    config = tmp_path / 'pipeline.py'
    config.write_text(f'stages = {stages!r}\n')
    work_dir = tmp_path / 'work'
    train_tool.main([str(config), '--work-dir', str(work_dir)])
    with open(work_dir / 'full' / 'stage_done.json') as f:
        final = safe_load_checkpoint(json.load(f)['checkpoint'])
    init = safe_load_checkpoint(str(work_dir / 'full' / 'init_from.pth'))
    # The decoder came from stage 1 and the DenseNets from stage 2.
    assert any(k.startswith('decoder.') for k in init['state_dict'])
    assert any(k.startswith('region_proposer.') for k in init['state_dict'])
    tokens = final['state_dict']['vocab._extra_state']['tokens']
    assert tokens == init['state_dict']['vocab._extra_state']['tokens']
    assert final['meta']['rrgkit']['model'] == 'ReportGenerator'
    embed = final["state_dict"]["decoder.word_embed.weight"]
    assert torch.isfinite(embed).all()
