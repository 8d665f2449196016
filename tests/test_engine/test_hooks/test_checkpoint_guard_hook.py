# Copyright (c) rrgkit contributors. All rights reserved.
"""CheckpointGuardHook through a real mmengine Runner on a tiny model."""
import json
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner
from torch.utils.data import Dataset

from rrgkit.models.tokenizers import ReportTokenizer, VocabularyMismatchError
from rrgkit.structures import ReportDataSample
from rrgkit.utils.checkpoint import CheckpointError, safe_load_checkpoint

REPORTS = ['the heart is normal .', 'a nodule in the right lung .']


class _TinyReports(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        img = torch.full((3, 32, 32), 40 * i, dtype=torch.uint8)
        sample = ReportDataSample().set_gt_report(REPORTS[i % 2])
        sample.set_metainfo(dict(img_id=str(i)))
        return dict(inputs=img, data_samples=sample)


def _model(reports=REPORTS, hidden=16):
    return dict(
        type='ReportGenerator',
        backbone=dict(type='DenseNet',
                      arch=dict(growth_rate=4, depths=[1, 1],
                                init_channels=8)),
        decoder=dict(type='LSTMDecoder', embed_dims=8, hidden_dims=hidden),
        tokenizer=ReportTokenizer().build_vocab(reports),
        max_len=12)


def _runner(work_dir, name, model, **kwargs):
    return Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=name,
        default_scope='rrgkit',
        train_dataloader=dict(
            dataset=_TinyReports(), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
        custom_hooks=[dict(type='CheckpointGuardHook')],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1)),
        **kwargs)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('guard')
    _runner(work_dir, 'guard_train', _model()).train()
    return work_dir


def test_vocab_file_and_checkpoint_meta(trained):
    with open(osp.join(trained, 'vocab.json'), encoding='utf-8') as f:
        tokens = json.load(f)['tokens']
    ckpt = safe_load_checkpoint(osp.join(trained, 'epoch_1.pth'))
    info = ckpt['meta']['rrgkit']
    assert info['model'] == 'ReportGenerator'
    assert info['vocab_size'] == len(tokens)
    assert ckpt['state_dict']['vocab._extra_state']['tokens'] == tokens


def test_same_model_loads(trained, tmp_path):
    runner = _runner(tmp_path, 'guard_ok', _model(),
                     load_from=osp.join(trained, 'epoch_1.pth'))
    runner.load_or_resume()


def test_other_vocabulary_is_refused_with_the_file_name(trained, tmp_path):
    other = _model(reports=REPORTS + ['completely different words here'])
    runner = _runner(tmp_path, 'guard_vocab', other,
                     load_from=osp.join(trained, 'epoch_1.pth'))
    with pytest.raises(VocabularyMismatchError, match='epoch_1.pth'):
        runner.load_or_resume()


def test_other_architecture_is_refused_with_the_file_name(trained, tmp_path):
    runner = _runner(tmp_path, 'guard_arch', _model(hidden=24),
                     load_from=osp.join(trained, 'epoch_1.pth'))
    with pytest.raises(CheckpointError, match='epoch_1.pth.*other shapes'):
        runner.load_or_resume()
