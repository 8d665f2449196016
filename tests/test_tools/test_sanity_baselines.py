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


def test_ce_and_dca_of_the_copied_reports():
    """The config's ClinicalTagMetric scores the baselines' reports."""
    from rrgkit.datasets.tags import DEFAULT_LEXICON, TagVocabulary
    from rrgkit.structures import ReportDataSample
    tags = ['ground-glass opacity', 'nodule']
    vocab = TagVocabulary('english', tags, [], dict.fromkeys(tags, 1),
                          lexicon_sha256=DEFAULT_LEXICON.fingerprint())
    cfg = dict(test_evaluator=[
        dict(type='ReportMetric'),
        dict(type='ClinicalTagMetric', vocabulary=vocab.to_dict())])
    records = [dict(id='a', generated='a nodule .', reference='a nodule .'),
               dict(id='b', generated='a nodule .',
                    reference=['ground glass shadow .', 'x'])]
    samples = [ReportDataSample().set_gt_label(0), ReportDataSample()]
    tool = load_tool('analysis/sanity_baselines')
    scores = tool._text_metric_scores(cfg, 'test', records, samples)
    # nodule: TP in a, FP in b; ground glass: FN in b.
    assert scores['CE/abnormal/micro_P'] == 1 / 2
    assert scores['CE/abnormal/micro_R'] == 1 / 2
    assert scores['CE/num_samples'] == 2
    # Only 'a' has a label: a nodule reads as "not COVID", its label.
    assert scores['CE/DCA/accuracy'] == 1.0
    assert scores['CE/DCA/num_samples'] == 1
    assert not any(k.startswith('report/') for k in scores)
