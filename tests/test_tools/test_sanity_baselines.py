# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/analysis/sanity_baselines.py on the tiny synthetic data."""
import os.path as osp

from rrgkit.apis.results import load_record
from .conftest import REPO, load_tool, tiny_synth_options

CONFIG = osp.join(REPO, 'configs', 'nic_synth.py')


def test_sanity_baselines_write_records(tmp_path):
    results = load_tool('analysis/sanity_baselines').main(
        [CONFIG, '--split', 'val', '--record-dir', str(tmp_path / 'rec'),
         '--cfg-options', *tiny_synth_options(tmp_path / 'cache')])
    for name in ('most_frequent', 'nearest_neighbour'):
        record = load_record(str(tmp_path / 'rec' / f'{name}.json'))
        assert record['checkpoint'] is None and record['selected'] is None
        assert record['split'] == 'val'
        assert record['metrics'] == results[name]['metrics']
        assert 0.0 < record['metrics']['report/BLEU-1'] <= 1.0
    frequent = results['most_frequent']['records']
    assert len({r['generated'] for r in frequent}) == 1
