# Copyright (c) rrgkit contributors. All rights reserved.
"""MDNet configs end to end through tools/train.py, test.py, retrieval."""
import glob
import json
import os.path as osp

import pytest

from rrgkit.apis.results import load_record
from rrgkit.utils.setup_env import load_config
from .conftest import REPO, load_tool, loader_options, synth_data_options

SYNTH = osp.join(REPO, 'configs', 'mdnet_synth.py')
COVCTR = osp.join(REPO, 'configs', 'mdnet_covctr.py')


def _tiny_options(cache, max_epochs=1):
    keys = [f'{s}_dataloader.dataset.source' for s in ('train', 'val',
                                                        'test')]
    keys.append('model.tokenizer.corpus.source')
    return ([f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=1',
             'model.backbone.arch.depth=11', 'model.backbone.arch.'
             'widen_factor=1', 'model.decoder.embed_dims=16', 'model.decoder.hidden_dims=16',
             'model.max_len=20', 'model.tokenizer.min_freq=1',
             'default_hooks.logger.interval=1']
            + loader_options() + synth_data_options(cache, keys))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('mdnet')
    work_dir = str(root / 'work')
    options = _tiny_options(root / 'cache')
    load_tool('train').main([SYNTH, '--work-dir', work_dir,
                             '--cfg-options', *options])
    return root, work_dir, options


def test_train_logs_beta_and_diagnosis_loss(trained):
    _, work_dir, _ = trained
    scalars = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                        'scalars.json')))[-1]
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    train = [r for r in rows if 'loss_diagnosis' in r]
    assert train and all('loss_report' in r for r in train)
    val = [r for r in rows if 'dca/accuracy' in r]
    assert val and 0.0 <= val[-1]['dca/accuracy'] <= 1.0
    assert 'report/CIDEr-D' in val[-1]


def test_test_and_retrieval_tools(trained):
    root, work_dir, options = trained
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    load_tool('test').main([SYNTH, ckpt, '--work-dir', str(root / 't'),
                            '--cfg-options', *options])
    with open(glob.glob(str(root / 't' / '*' / 'metrics.json'))[0]) as f:
        metrics = json.load(f)['metrics']
    assert {'report/BLEU-4', 'dca/accuracy', 'dca/undetermined'} <= set(
        metrics)
    record_path = str(root / 'retrieval_record.json')
    result = load_tool('analysis/retrieval').main(
        [SYNTH, ckpt, '--work-dir', str(root / 'r'), '--max-queries', '3',
         '--record', record_path, '--cfg-options', *options])
    assert result['num_queries'] == 3 and result['num_images'] == 4
    assert 0.0 <= result['Cr@1'] <= 1.0
    assert 'Cr@5' not in result  # more than the 4 images of the split
    assert 0.0 < result['chance'] < 1.0
    record = load_record(record_path)
    assert record['metrics'] == {'retrieval/Cr@1': result['Cr@1'],
                                 'retrieval/chance': result['chance']}
    assert record['split'] == 'test'
    assert record['signature']['num_queries'] == 3
    assert record['signature']['data_hash'] and record['signature'][
        'vocab_hash']
    assert record['command'].startswith('python tools/analysis/retrieval.py')


@pytest.mark.parametrize('name', [
    'mdnet/mdnet_frozen_cnn_ecnet38_1xb16_10e_covctr_en.py',
    'mdnet/mdnet_finetune_ecnet38_1xb16_10e_covctr_en.py',
    'mdnet/mdnet_ecnet38_1xb16_10e_covctr_zh.py'
])
def test_comparison_and_chinese_configs_load(name):
    cfg = load_config(osp.join(REPO, 'configs', name))
    hooks = [h for h in cfg.custom_hooks
             if getattr(h['type'], '__name__', '') == 'BetaScheduleHook']
    assert len(hooks) == 1


def test_covctr_config_trains_a_few_real_images(tmp_path, covctr_root):
    opts = ['train_cfg.max_epochs=1', 'model.decoder.num_positions=4',
            "model.backbone.arch='38-8'", 'model.decoder.embed_dims=16',
            'model.decoder.hidden_dims=16', 'model.max_len=20',
            'model.beam_size=1', 'default_hooks.logger.interval=1']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.indices=6',
                 f'{split}_dataloader.dataset.pipeline.1.scale=(32,32)']
    opts += loader_options(batch_size=3)
    load_tool('train').main([COVCTR, '--work-dir', str(tmp_path / 'w'),
                             '--data-root', str(covctr_root),
                             '--cfg-options', *opts])
    assert osp.isfile(tmp_path / 'w' / 'epoch_1.pth')


def test_sanity_baselines_score_dca(tmp_path):
    options = _tiny_options(tmp_path / 'cache')
    results = load_tool('analysis/sanity_baselines').main(
        [SYNTH, '--split', 'test', '--cfg-options', *options])
    for name in ('most_frequent', 'nearest_neighbour'):
        metrics = results[name]['metrics']
        assert metrics['dca/num_samples'] == 4  # the tiny test split
        assert 0.0 <= metrics['dca/accuracy'] <= 1.0
    # One report for every image: one conclusion, so each class's recall is
    # all or nothing, and at most one class gets it.
    frequent = results['most_frequent']['metrics']
    recalls = [v for k, v in frequent.items()
               if k.startswith('dca/accuracy_')]
    assert recalls and set(recalls) <= {0.0, 1.0} and sum(recalls) <= 1.0
