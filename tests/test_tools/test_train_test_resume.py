# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/train.py and tools/test.py end to end on a tiny synthetic setup."""
import glob
import json
import os.path as osp

import pytest
import torch

from rrgkit.apis.results import load_record
from rrgkit.utils.checkpoint import safe_load_checkpoint
from .conftest import REPO, tiny_synth_options

CONFIG = osp.join(REPO, 'configs', 'nic_synth.py')


def _last_val_metrics(work_dir):
    scalars = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                        'scalars.json')))[-1]
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    return [r for r in rows if 'report/CIDEr-D' in r][-1]


@pytest.fixture(scope='module')
def trained(tmp_path_factory, train_tool):
    root = tmp_path_factory.mktemp('nic')
    work_dir = str(root / 'work')
    train_tool.main([CONFIG, '--work-dir', work_dir, '--cfg-options',
                     *tiny_synth_options(root / 'cache')])
    return root, work_dir


def test_train_writes_checkpoints_and_vocabulary(trained):
    _, work_dir = trained
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    assert glob.glob(osp.join(work_dir, 'best_report_CIDEr-D_epoch_*.pth'))
    with open(osp.join(work_dir, 'vocab.json'), encoding='utf-8') as f:
        vocab = json.load(f)
    ckpt = safe_load_checkpoint(osp.join(work_dir, 'epoch_2.pth'))
    assert ckpt['state_dict']['vocab._extra_state']['tokens'] == \
        vocab['tokens']
    assert ckpt['meta']['rrgkit']['vocab_size'] == len(vocab['tokens'])
    metrics = _last_val_metrics(work_dir)
    assert 'most_frequent/CIDEr-D' in metrics


def test_test_tool_reproduces_val_metrics(trained, test_tool):
    root, work_dir = trained
    out_dir = str(root / 'test')
    out_json = str(root / 'reports.json')
    record_json = str(root / 'record.json')
    test_tool.main([CONFIG, osp.join(work_dir, 'epoch_2.pth'), '--split',
                    'val', '--work-dir', out_dir, '--out', out_json,
                    '--record', record_json,
                    '--cfg-options', *tiny_synth_options(root / 'cache')])
    val = _last_val_metrics(work_dir)
    with open(glob.glob(osp.join(out_dir, '*', 'metrics.json'))[0]) as f:
        summary = json.load(f)
    for key in ('report/BLEU-4', 'report/ROUGE-L', 'report/CIDEr-D'):
        assert summary['metrics'][key] == pytest.approx(val[key], abs=1e-4)
    assert summary['signature']['eval_tokenizer'] == 'ptb'
    assert summary['split'] == 'val'
    with open(out_json, encoding='utf-8') as f:
        records = json.load(f)
    assert len(records) == summary['signature']['num_images'] > 0
    assert set(records[0]) >= {'id', 'generated', 'reference'}
    assert all(r['reference'] for r in records)
    record = load_record(record_json)
    assert record['metrics'] == pytest.approx(summary['metrics'])
    assert record['config'] == 'configs/nic_synth.py'
    assert record['selected'] == dict(file='epoch_2.pth', on_val=False,
                                      epoch=2, iteration=None)
    assert record['command'].startswith(
        'python tools/test.py ' + CONFIG + ' ')
    assert '--record' in record['command']
    sig = record['signature']
    assert len(sig['data_hash']) == len(sig['config_hash']) == 16
    assert sig['vocab_hash'] == safe_load_checkpoint(
        osp.join(work_dir, 'epoch_2.pth'))['meta']['rrgkit'].get(
            'vocab_hash', sig['vocab_hash'])
    assert sig['seed'] == 0


def test_resume_continues_from_the_last_checkpoint(tmp_path, train_tool):
    work_dir = str(tmp_path / 'work')
    opts = tiny_synth_options(tmp_path / 'cache', max_epochs=1)
    train_tool.main([CONFIG, '--work-dir', work_dir, '--cfg-options', *opts])
    first = safe_load_checkpoint(osp.join(work_dir, 'epoch_1.pth'))
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    opts = tiny_synth_options(tmp_path / 'cache', max_epochs=2)
    train_tool.main([CONFIG, '--work-dir', work_dir, '--resume',
                     '--cfg-options', *opts])
    second = safe_load_checkpoint(osp.join(work_dir, 'epoch_2.pth'))
    assert second['meta']['epoch'] == 2
    assert second['meta']['iter'] == 2 * first['meta']['iter']
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    with open(logs[-1]) as f:
        assert 'resumed epoch: 1' in f.read()
    # The optimizer state was restored, not re-initialised.
    assert second['optimizer']['state'][0]['step'] == torch.tensor(
        float(second['meta']['iter']))


def test_no_validate_trains_without_val_or_baseline(tmp_path, train_tool):
    work_dir = str(tmp_path / 'work')
    opts = tiny_synth_options(tmp_path / 'cache', max_epochs=1)
    train_tool.main([CONFIG, '--work-dir', work_dir, '--no-validate',
                     '--cfg-options', *opts])
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    assert not glob.glob(osp.join(work_dir, 'best_*.pth'))
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    with open(logs[-1]) as f:
        assert 'MostFrequentReportHook' not in f.read()


def _test_reports(root, test_tool, name, *options):
    """Generated val reports of epoch_2.pth under extra --cfg-options."""
    out_json = str(root / f'{name}.json')
    test_tool.main([
        CONFIG, osp.join(str(root / 'work'), 'epoch_2.pth'), '--split', 'val',
        '--work-dir', str(root / name), '--out', out_json, '--cfg-options',
        *tiny_synth_options(root / 'cache'), *options
    ])
    with open(out_json, encoding='utf-8') as f:
        return [r['generated'] for r in json.load(f)]


def test_test_tool_takes_decoding_options(trained, test_tool):
    # Two epochs teach this tiny model to end at once: empty reports.
    root, _ = trained
    assert set(_test_reports(root, test_tool, 'default')) == {''}
    longer = _test_reports(root, test_tool, 'longer',
                           'model.decode_cfg.min_length=6',
                           'model.decode_cfg.no_repeat_ngram_size=1')
    for text in longer:
        words = text.split()
        assert len(words) >= 6 and len(set(words)) == len(words), text
    sampled = [
        _test_reports(root, test_tool, f'sampled{i}',
                      'model.decode_cfg.beam_size=1',
                      'model.decode_cfg.do_sample=True',
                      'model.decode_cfg.min_length=6',
                      'model.decode_cfg.seed=0') for i in range(2)
    ]
    assert sampled[0] == sampled[1] != longer
