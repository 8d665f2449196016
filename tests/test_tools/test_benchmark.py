# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/benchmark.py end to end on the tiny synthetic setup: a prepare
step (the probed backbone), NIC on its cached features, a run started from
NIC's (init_from), the sanity baselines."""
import json
import os.path as osp

from .conftest import REPO, load_tool, tiny_synth_options


def test_benchmark_runs_skips_and_aggregates(tmp_path):
    config = osp.join(REPO, 'configs', 'nic_synth.py')
    spec = tmp_path / 'bench.py'
    results = tmp_path / 'results'
    options = [o for o in tiny_synth_options(tmp_path / 'cache', 1)
               if not o.startswith('experiment_name')]
    backbone = str(tmp_path / 'work' / 'bb.pth')
    cached = [f'cached_features.checkpoint={backbone}',
              'cached_features.prefix=', 'cached_features.out_channels=10']
    spec.write_text(
        f"benchmark = dict(name='tiny', seeds=[0, 1], split='val',\n"
        f"    reference='nic', results_dir={str(results)!r},\n"
        f"    work_root={str(tmp_path / 'work')!r},\n"
        f"    prepare=[dict(name='bb', output={backbone!r}, command=[\n"
        f"        'tools/analysis/probe_features.py', {config!r},\n"
        f"        '--save-backbone', '{{output}}', '--cfg-options',\n"
        f"        *{options!r}])],\n"
        f"    methods=[\n"
        f"    dict(name='sanity', kind='sanity', config={config!r}),\n"
        f"    dict(name='nic', config={config!r}, cfg_options={cached}),\n"
        f"    dict(name='nic+more', config={config!r}, init_from='nic',"
        f"         cfg_options={cached})])\n")
    tool = load_tool('benchmark')
    assert tool.main([str(spec), '--cfg-options', *options]) == 0
    with open(results / 'summary.json') as f:
        summary = json.load(f)
    nic = summary['methods']['nic']
    assert nic['seeds'] == [0, 1]
    assert 0.0 <= nic['mean']['report/CIDEr-D']
    assert nic['std']['report/CIDEr-D'] >= 0.0
    assert 0.0 <= nic['most_frequent_share'] <= 1.0
    assert 0.0 < nic['distinct_1'] <= 1.0
    assert len(nic['distinct_reports']) == 2
    generated = json.loads((results / 'nic' / 'seed1_reports.json')
                           .read_text())
    assert nic['distinct_reports'][1] == len({r['generated']
                                              for r in generated})
    assert 'test' not in nic  # the reference itself
    frequent = summary['methods']['most_frequent']
    assert frequent['most_frequent_share'] == 1.0
    assert 0.0 < frequent['test']['p'] <= 1.0
    assert summary['signature']['split'] == 'val'
    assert osp.isfile(backbone)  # the prepare step ran first
    assert set(summary['methods']) == {'most_frequent', 'nearest_neighbour',
                                       'nic', 'nic+more'}
    more = (tmp_path / 'work' / 'logs' / 'nic+more_seed1.log').read_text()
    start = osp.join(str(tmp_path / 'work'), 'nic', 'seed1', '')
    assert f'load_from={start}' in more  # @best: resolved to a checkpoint
    records = [results / 'nic' / f'seed{s}.json' for s in (0, 1)]
    seeds = [json.loads(p.read_text())['signature']['seed'] for p in records]
    assert seeds == [0, 1]
    log = (tmp_path / 'work' / 'logs' / 'nic_seed0.log').read_text()
    jobs = [line for line in log.splitlines() if line.startswith('[job]')]
    assert [j.split(' after ')[0] for j in jobs] == [
        '[job] train.py: exit 0', '[job] test.py: exit 0', '[job] run done']
    assert float(jobs[2].split(' after ')[1][:-2]) > 0
    # A second call finds every record and only aggregates.
    mtimes = [p.stat().st_mtime for p in records]
    assert tool.main([str(spec), '--cfg-options', *options]) == 0
    assert [p.stat().st_mtime for p in records] == mtimes
