# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/analysis/choose_decoding.py and the benchmark's placeholders."""
import json
import os.path as osp

import pytest

from rrgkit.apis.pipeline import _final_checkpoint
from .conftest import REPO, load_tool, tiny_synth_options

CONFIG = osp.join(REPO, 'configs', 'nic_synth.py')


def test_choice_on_val_from_a_tiny_run(tmp_path, train_tool, capsys):
    options = [o for o in tiny_synth_options(tmp_path / 'cache', 1)
               if not o.startswith('experiment_name')]
    train_tool.main([CONFIG, '--work-dir', str(tmp_path / 'run'),
                     '--cfg-options', *options])
    ckpt = _final_checkpoint(str(tmp_path / 'run'))
    tool = load_tool('analysis/choose_decoding')
    grid = 'model.decode_cfg.no_repeat_ngram_size=0,2'
    result = tool.main([CONFIG, ckpt, '--grid', grid, '--work-dir',
                        str(tmp_path / 'dec'), '--cfg-options', *options])
    with open(tmp_path / 'dec' / 'decoding.json') as f:
        written = json.load(f)
    assert written['options'] == result['options']
    scores = [t['score'] for t in written['trials']]
    assert [t['options'] for t in written['trials']] == [
        ['model.decode_cfg.no_repeat_ngram_size=0'],
        ['model.decode_cfg.no_repeat_ngram_size=2']]
    assert written['score'] == max(scores)
    assert written['options'] == written['trials'][
        scores.index(max(scores))]['options']
    for i in range(2):  # every trial scored val with its own setting
        with open(tmp_path / 'dec' / f'trial{i}' / 'record.json') as f:
            record = json.load(f)
        assert record['split'] == 'val'
        assert record['metrics']['report/CIDEr-D'] == scores[i]
    assert 'chosen on val' in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        tool.main([CONFIG, ckpt, '--grid', grid, '--metric', 'report/X',
                   '--work-dir', str(tmp_path / 'bad'), '--cfg-options',
                   *options])
    assert exit_info.value.code == 2
    assert "--metric 'report/X' is not among" in capsys.readouterr().err
    assert not (tmp_path / 'bad' / 'decoding.json').exists()


def test_benchmark_fills_checkpoint_and_options_placeholders(tmp_path):
    resolve = load_tool('benchmark')._resolve
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'best_report_CIDEr-D_epoch_3.pth').write_bytes(b'x')
    choice = tmp_path / 'decoding.json'
    choice.write_text(json.dumps(dict(options=['a=1', 'b=2'])))
    best = str(run / 'best_report_CIDEr-D_epoch_3.pth')
    assert resolve(['x', f'@best:{run}', f'load_from=@best:{run}',
                    f'@options:{choice}', 'c=3']) == [
                        'x', best, f'load_from={best}', 'a=1', 'b=2', 'c=3']
