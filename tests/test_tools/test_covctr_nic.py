# Copyright (c) rrgkit contributors. All rights reserved.
"""The NIC config on the real COV-CTR English reports trains and evaluates.

A short smoke schedule (a few dozen images at 64 px, one epoch); the
real CPU schedule and its results are in docs/get_started.md.
"""
import glob
import json
import os.path as osp

import pytest

from .conftest import REPO

CONFIGS = {
    'en': osp.join(REPO, 'configs', 'nic_covctr.py'),
    'zh': osp.join(REPO, 'configs', 'nic',
                   'nic_densenet121_1xb16_10e_covctr_zh.py'),
}


def _options(tag):
    # The config's own DenseNet-121, on 64 px images to keep it quick.
    opts = [f'experiment_name=covctr_{tag}', 'train_cfg.max_epochs=1',
            'model.decoder.embed_dims=16', 'model.decoder.hidden_dims=16',
            'model.max_len=40', 'model.beam_size=1',
            'default_hooks.logger.interval=1']
    for loader, n in (('train_dataloader', 24), ('val_dataloader', 8),
                      ('test_dataloader', 8)):
        opts += [f'{loader}.dataset.indices={n}', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False',
                 f'{loader}.batch_size=8',
                 f'{loader}.dataset.pipeline.1.scale=(64,64)']
    return opts


@pytest.mark.parametrize('language', ['en', 'zh'])
def test_nic_covctr_trains_and_tests(language, covctr_root, tmp_path,
                                     train_tool, test_tool):
    config = CONFIGS[language]
    work_dir = str(tmp_path / 'work')
    train_tool.main([config, '--work-dir', work_dir, '--data-root',
                     str(covctr_root), '--cfg-options',
                     *_options(f'train_{language}')])
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    with open(osp.join(work_dir, 'vocab.json'), encoding='utf-8') as f:
        vocab = json.load(f)
    # Built from all 576 training reports (min_freq 3), not the 24 used.
    assert vocab['language'] == language
    assert 150 < len(vocab['tokens']) < 400
    assert ('ground' if language == 'en' else '磨') in vocab['tokens']
    test_tool.main([config, ckpt, '--work-dir', str(tmp_path / 'test'),
                    '--data-root', str(covctr_root), '--cfg-options',
                    *_options(f'test_{language}')])
    reports = glob.glob(str(tmp_path / 'test' / '*' /
                            'generated_reports.json'))
    with open(reports[0], encoding='utf-8') as f:
        records = json.load(f)
    assert len(records) == 8
    assert all(r['reference'] for r in records)
    with open(osp.join(osp.dirname(reports[0]), 'metrics.json')) as f:
        summary = json.load(f)
    assert set(summary['metrics']) >= {'report/BLEU-4', 'report/METEOR',
                                       'report/CIDEr-D',
                                       'CE/abnormal/micro_F1',
                                       'CE/all/macro_F1', 'CE/DCA/accuracy'}
    assert summary['metrics']['CE/num_samples'] == 8
    expected = 'ptb' if language == 'en' else 'char'
    assert summary['signature']['eval_tokenizer'] == expected
