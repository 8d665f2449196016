# Copyright (c) rrgkit contributors. All rights reserved.
"""Result records and the docs tables generated from them."""
import json
import os.path as osp

import pytest

from rrgkit.apis.docs_tables import (generate_tables, render_table,
                                     replace_table)
from rrgkit.apis.results import (RECORD_FORMAT, RecordError, load_record,
                                 make_record, repo_root, write_record)

SUMMARY = dict(config=osp.join(repo_root(), 'configs', 'nic_covctr.py'),
               checkpoint='/elsewhere/best_report_CIDEr-D_epoch_7.pth',
               split='test',
               metrics={'report/CIDEr-D': 1.0625, 'report/BLEU-4': 0.5},
               signature=dict(eval_tokenizer='ptb', num_images=5))


def _record(path, cider, **signature):
    summary = dict(SUMMARY, metrics={'report/CIDEr-D': cider,
                                     'report/BLEU-4': 0.5},
                   signature=dict(SUMMARY['signature'], **signature))
    write_record(make_record(summary, ['python', 'tools/test.py', 'x']),
                 str(path))


def test_make_record_keeps_scores_and_provenance():
    record = make_record(SUMMARY, ['python', 'tools/test.py', 'a b'])
    assert record['format'] == RECORD_FORMAT
    assert record['config'] == 'configs/nic_covctr.py'  # repo-relative
    assert record['checkpoint'] == '/elsewhere/best_report_CIDEr-D_epoch_7.pth'
    assert record['selected'] == dict(
        file='best_report_CIDEr-D_epoch_7.pth', on_val=True, epoch=7,
        iteration=None)
    assert record['command'] == "python tools/test.py 'a b'"
    assert record['metrics']['report/CIDEr-D'] == 1.0625
    assert set(record['versions']) == {'rrgkit', 'torch', 'mmengine'}


def test_load_record_errors_name_the_file(tmp_path):
    with pytest.raises(RecordError, match='missing.json'):
        load_record(str(tmp_path / 'missing.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"format": ')
    with pytest.raises(RecordError, match='bad.json.*not valid JSON'):
        load_record(str(bad))
    other = tmp_path / 'other.json'
    other.write_text(json.dumps({'metrics': {}}))
    with pytest.raises(RecordError, match='other.json.*not an rrgkit'):
        load_record(str(other))


def _spec(rows):
    return dict(name='t', doc='doc.md', digits=3,
                columns=[['BLEU-4', 'report/BLEU-4'],
                         ['CIDEr-D', 'report/CIDEr-D'],
                         ['tag AUC', 'tags/AUC']],
                rows=rows)


def test_render_table_values_missing_rows_and_provenance(tmp_path):
    _record(tmp_path / 'a.json', 1.0625)
    table = render_table(_spec([['A', 'a.json'], ['B', 'b.json']]),
                         str(tmp_path))
    lines = table.splitlines()
    assert lines[0] == '| Method | BLEU-4 | CIDEr-D | tag AUC | Checkpoint |'
    assert lines[2] == '| A | 0.500 | 1.062 | – | epoch 7 (best val) |'
    assert lines[3].startswith('| B | not run yet |')
    assert 'test split (5 images)' in lines[5]
    assert '`ptb`' in lines[5] and '`docs/results/a.json`' in lines[5]


def test_render_table_refuses_mixed_scoring(tmp_path):
    _record(tmp_path / 'a.json', 1.0)
    _record(tmp_path / 'b.json', 1.0, eval_tokenizer='whitespace')
    with pytest.raises(RecordError, match='mixes records'):
        render_table(_spec([['A', 'a.json'], ['B', 'b.json']]),
                     str(tmp_path))


def test_replace_table_needs_markers():
    text = 'intro\n<!-- rrgkit-table:t -->\nold\n<!-- /rrgkit-table -->\nend\n'
    assert replace_table(text, 't', 'new\n') == (
        'intro\n<!-- rrgkit-table:t -->\nnew\n<!-- /rrgkit-table -->\nend\n')
    with pytest.raises(RecordError, match='doc.md.*rrgkit-table:u'):
        replace_table(text, 'u', 'new\n', 'doc.md')


def test_generate_tables_is_idempotent_and_check_detects_drift(tmp_path):
    results = tmp_path / 'docs' / 'results'
    results.mkdir(parents=True)
    _record(results / 'a.json', 1.0)
    (results / 'tables.json').write_text(json.dumps(
        {'tables': [dict(_spec([['A', 'a.json']]), doc='docs/doc.md')]}))
    doc = tmp_path / 'docs' / 'doc.md'
    doc.write_text('# x\n<!-- rrgkit-table:t -->\n<!-- /rrgkit-table -->\n')
    specs = str(results / 'tables.json')
    assert generate_tables(specs, str(tmp_path), check=True) == [
        osp.join('docs', 'doc.md')]
    assert generate_tables(specs, str(tmp_path)) == [
        osp.join('docs', 'doc.md')]
    first = doc.read_bytes()
    assert b'| A | 0.500 | 1.000 |' in first
    assert generate_tables(specs, str(tmp_path)) == []
    assert doc.read_bytes() == first
    _record(results / 'a.json', 2.0)
    assert generate_tables(specs, str(tmp_path), check=True) == [
        osp.join('docs', 'doc.md')]
    assert doc.read_bytes() == first  # check changes nothing


def test_render_summary_table(tmp_path):
    from rrgkit.apis.docs_tables import render_summary_table
    summary = dict(
        name='b', split='test', reference='nic',
        signature=dict(split='test', num_images=5, eval_tokenizer='ptb'),
        methods=dict(nic=dict(seeds=[0, 1], mean={'report/CIDEr-D': 1.0},
                              std={'report/CIDEr-D': 0.25}, distinct_2=0.5,
                              distinct_reports=[4, 3],
                              most_frequent_share=0.1),
                     sat=dict(seeds=[0], mean={'report/CIDEr-D': 1.5},
                              std={'report/CIDEr-D': 0.0}, distinct_2=0.75,
                              most_frequent_share=None,
                              test=dict(p=0.0125))))
    (tmp_path / 's.json').write_text(json.dumps(summary))
    (tmp_path / 'o.json').write_text(json.dumps(dict(methods=dict(sat=dict(
        summary['methods']['sat'], mean={'report/CIDEr-D': 0.25})))))
    spec = dict(name='b', doc='d.md', summary='s.json',
                columns=[['CIDEr-D', 'report/CIDEr-D']],
                rows=[['NIC', 'nic'], ['SAT', 'sat'], ['R2Gen', 'r2gen'],
                      ['SAT before', 'sat', 'o.json']])
    lines = render_summary_table(spec, str(tmp_path)).splitlines()
    assert lines[0] == ('| Method | Seeds | CIDEr-D | distinct-2 | '
                        'distinct reports | most-frequent share | p vs nic |')
    assert lines[2] == ('| NIC | 2 | 1.000 ± 0.250 | 0.500 | 3/5 | 0.10 | '
                        '– |')
    assert lines[3] == ('| SAT | 1 | 1.500 ± 0.000 | 0.750 | – | – | '
                        '0.013 |')
    assert lines[4].startswith('| R2Gen | not run yet |')
    # the other benchmark's entry, without its p-value
    assert lines[5] == ('| SAT before | 1 | 0.250 ± 0.000 | 0.750 | – | – | '
                        '– |')
    assert 'test split (5 images)' in lines[7]
    spec.update(extras=False, rows=[['SAT', 'sat'], ['R2Gen', 'r2gen']])
    lines = render_summary_table(spec, str(tmp_path)).splitlines()
    assert lines[0] == '| Method | Seeds | CIDEr-D |'
    assert lines[2] == '| SAT | 1 | 1.500 ± 0.000 |'
    assert lines[3] == '| R2Gen | not run yet | |'
    assert 'randomization' not in lines[5]


def test_summary_table_with_ce_columns_and_test(tmp_path):
    """CE columns: '–' for results recorded before CE; the CE test's
    p-value column appears when the summary has one."""
    from rrgkit.apis.docs_tables import render_summary_table
    cider, ce = 'report/CIDEr-D', 'CE/abnormal/micro_F1'
    summary = dict(
        name='b', split='test', reference='nic',
        signature=dict(split='test', num_images=5, eval_tokenizer='ptb'),
        methods=dict(
            old=dict(seeds=[0], mean={cider: 1.0}, std={cider: 0.0},
                     distinct_2=0.5, most_frequent_share=None,
                     test=dict(p=0.5)),
            nic=dict(seeds=[0, 1], mean={cider: 1.0, ce: 0.5},
                     std={cider: 0.25, ce: 0.125}, distinct_2=0.5,
                     most_frequent_share=0.1),
            sat=dict(seeds=[0], mean={cider: 1.5, ce: 0.75},
                     std={cider: 0.0, ce: 0.0}, distinct_2=0.75,
                     most_frequent_share=None, test=dict(p=0.0125),
                     ce_test=dict(p=0.25))))
    (tmp_path / 's.json').write_text(json.dumps(summary))
    spec = dict(name='b', doc='d.md', summary='s.json',
                columns=[['CIDEr-D', cider], ['CE F1', ce]],
                rows=[['Old', 'old'], ['NIC', 'nic'], ['SAT', 'sat']])
    lines = render_summary_table(spec, str(tmp_path)).splitlines()
    assert lines[0] == ('| Method | Seeds | CIDEr-D | CE F1 | distinct-2 | '
                        'distinct reports | most-frequent share | p vs nic | '
                        'p CE vs nic |')
    assert lines[2] == ('| Old | 1 | 1.000 ± 0.000 | – | 0.500 | – | – | '
                        '0.500 | – |')
    assert lines[3] == ('| NIC | 2 | 1.000 ± 0.250 | 0.500 ± 0.125 | 0.500 '
                        '| – | 0.10 | – | – |')
    assert lines[4] == ('| SAT | 1 | 1.500 ± 0.000 | 0.750 ± 0.000 | 0.750 '
                        '| – | – | 0.013 | 0.250 |')
    assert 'p CE: the same test' in lines[6]
    # Without a CE test in the summary the table keeps its old columns.
    del summary['methods']['sat']['ce_test']
    (tmp_path / 's.json').write_text(json.dumps(summary))
    lines = render_summary_table(spec, str(tmp_path)).splitlines()
    assert lines[0].endswith('| p vs nic |') and 'p CE' not in lines[6]


def test_column_digits_and_a_record_without_tokenizer(tmp_path):
    summary = dict(SUMMARY, metrics={'label_AUC': 0.79512, 'num_tags': 42.0},
                   signature=dict(num_images=72), split='val')
    write_record(make_record(summary, ['python', 'x']), str(tmp_path / 'a.json'))
    spec = dict(name='probe', doc='d.md', digits=3,
                columns=[['AUC', 'label_AUC'], ['tags', 'num_tags', 0]],
                rows=[['random', 'a.json']])
    table = render_table(spec, str(tmp_path))
    assert '| random | 0.795 | 42 | epoch 7 (best val) |' in table
    assert 'Scored on the val split (72 images); generated' in table


def test_summary_table_before_the_benchmark_ran(tmp_path):
    from rrgkit.apis.docs_tables import render_summary_table
    spec = dict(name='b', doc='d.md', summary='none/summary.json',
                columns=[['CIDEr-D', 'report/CIDEr-D'], ['CE', 'ce']],
                rows=[['NIC', 'nic'], ['Old', 'nic', 'x.json']])
    lines = render_summary_table(spec, str(tmp_path)).splitlines()
    assert lines[0] == '| Method | CIDEr-D | CE |'
    assert lines[2:4] == ['| NIC | not run yet | |', '| Old | not run yet | |']
    assert '`docs/results/none/summary.json`' in lines[5]
