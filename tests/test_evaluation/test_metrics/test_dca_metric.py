# Copyright (c) rrgkit contributors. All rights reserved.
"""Tests of ``DiagnosticAccuracyMetric`` and the mean ± std helpers."""
import importlib
import math

import pytest
import torch
from mmengine.evaluator import Evaluator

from rrgkit.evaluation.functional.conclusion import (COVCTR_CONCLUSIONS,
                                                     ConclusionExtractor)
from rrgkit.evaluation.metrics.dca_metric import aggregate_runs, mean_std
from rrgkit.registry import METRICS
from rrgkit.structures.report_sample import ReportDataSample

POS = COVCTR_CONCLUSIONS['en'][1]
NEG = COVCTR_CONCLUSIONS['en'][0]
SAMPLES = [
    # right: findings rule (ground glass -> 1)
    dict(img_id=0, pred_report='ground glass shadow in the right lung.',
         gt_label=torch.tensor(1)),
    # wrong: nodules read as 0 although the image is COVID
    dict(img_id=1, pred_report='nodules in the left lung.',
         gt_label=torch.tensor(1)),
    # right: the template decides; the nodules would have said 0
    dict(img_id=2, pred_report='nodules. ' + POS, gt_label=1),
    # undetermined (empty) -> wrong
    dict(img_id=3, pred_report='', gt_label=torch.tensor([0])),
    # right: nothing fires -> the preset's default 0
    dict(img_id=4, pred_report='the lungs are clear.', gt_label=0),
    # padding of a distributed sampler: id 0 again, ignored
    dict(img_id=0, pred_report=NEG, gt_label=torch.tensor(1)),
]


def test_name_not_taken_by_mmpretrain():
    importlib.import_module('mmpretrain.evaluation')  # registers metrics
    from mmpretrain.registry import METRICS as MMPRETRAIN_METRICS
    assert 'DiagnosticAccuracyMetric' not in MMPRETRAIN_METRICS.module_dict
    assert 'DiagnosticAccuracyMetric' in METRICS.module_dict


def test_accuracy_undetermined_and_per_class():
    metric = METRICS.build(dict(type='DiagnosticAccuracyMetric',
                                save_records=True))
    assert metric.extractor.language == 'english'  # covctr_en by default
    metric.process(None, SAMPLES[:3])
    metric.process(None, SAMPLES[3:])
    scores = metric.evaluate(len(SAMPLES))
    assert scores == {
        'dca/accuracy': 3 / 5,
        'dca/undetermined': 1 / 5,
        'dca/accuracy_non_covid': 1 / 2,  # ids 3 (wrong), 4 (right)
        'dca/accuracy_covid': 2 / 3,      # ids 0, 2 right; 1 wrong
        'dca/num_samples': 5.0,
    }
    assert [(r['id'], r['pred'], r['gt']) for r in metric.last_records] == [
        (0, 1, 1), (1, 0, 1), (2, 1, 1), (3, -1, 0), (4, 0, 0)]
    assert metric.last_records[2]['text'] == 'nodules. ' + POS


def test_pred_conclusion_is_preferred():
    metric = METRICS.build(dict(type='DiagnosticAccuracyMetric',
                                prefix='test'))
    metric.process(None, [
        # the conclusion field wins over the report's findings
        dict(pred_report='nodules.', pred_conclusion=POS, gt_label=1),
        # an empty or undecided conclusion falls back to the report
        dict(pred_report='ground glass.', pred_conclusion='', gt_label=1),
        dict(pred_report='ground glass.', pred_conclusion='clear',
             gt_label=1),
        # a conclusion alone is enough
        dict(pred_conclusion=NEG, gt_label=1),
    ])
    scores = metric.evaluate(4)
    assert scores['test/accuracy'] == 3 / 4
    assert scores['test/num_samples'] == 4.0  # no img_id: nothing deduped
    assert set(scores) == {'test/accuracy', 'test/undetermined',
                           'test/accuracy_covid', 'test/num_samples'}


def test_explicit_rules_and_data_samples_through_evaluator():
    extractor = dict(rules=[(0, ['normal']), (2, ['effusion'])],
                     language='en')
    evaluator = Evaluator(METRICS.build(
        dict(type='DiagnosticAccuracyMetric', extractor=extractor)))
    samples = []
    for i, (text, label) in enumerate([('normal study', 0),
                                       ('small effusion', 2),
                                       ('no effusion', 2)]):
        sample = ReportDataSample().set_gt_label(label).set_pred_report(text)
        sample.set_metainfo(dict(img_id=i))
        samples.append(sample)
    evaluator.process(data_samples=samples)
    scores = evaluator.evaluate(3)
    # 'no effusion' fires nothing and the extractor has no default.
    assert scores == {'dca/accuracy': 2 / 3, 'dca/undetermined': 1 / 3,
                      'dca/accuracy_class0': 1.0,
                      'dca/accuracy_class2': 0.5, 'dca/num_samples': 3.0}
    zh = ConclusionExtractor.from_preset('covctr_zh')
    metric = METRICS.build(dict(type='DiagnosticAccuracyMetric',
                                extractor=zh))
    assert metric.extractor is zh


def test_bad_samples_raise():
    metric = METRICS.build(dict(type='DiagnosticAccuracyMetric'))
    with pytest.raises(KeyError, match="no 'gt_label'"):
        metric.process(None, [dict(pred_report='x')])
    with pytest.raises(KeyError, match="neither 'pred_report' nor"):
        metric.process(None, [dict(gt_label=1)])
    with pytest.raises(ValueError, match='one class index'):
        metric.process(None, [dict(pred_report='x', gt_label=[0, 1])])
    with pytest.raises(ValueError, match='received no results'):
        metric.compute_metrics([])
    with pytest.raises(KeyError, match='Unknown conclusion preset'):
        METRICS.build(dict(type='DiagnosticAccuracyMetric',
                           extractor=dict(preset='covctr_fr')))


def test_mean_std_sample_and_population():
    mean, std = mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert std == pytest.approx(math.sqrt(5 / 3))  # ddof=1: / (n - 1)
    assert mean_std([1, 2, 3, 4], ddof=0)[1] == pytest.approx(math.sqrt(1.25))
    single = mean_std([0.8])
    assert single[0] == 0.8 and math.isnan(single[1])
    assert mean_std([0.8], ddof=0) == (0.8, 0.0)
    with pytest.raises(ValueError, match='at least one'):
        mean_std([])
    with pytest.raises(ValueError, match='ddof'):
        mean_std([1, 2], ddof=2)


def test_aggregate_runs():
    runs = [{'dca/accuracy': 0.7, 'dca/undetermined': 0.1},
            {'dca/accuracy': 0.9, 'dca/undetermined': 0.0}]
    out = aggregate_runs(runs)
    assert list(out) == ['dca/accuracy', 'dca/undetermined']
    assert out['dca/accuracy'][0] == pytest.approx(0.8)
    assert out['dca/accuracy'][1] == pytest.approx(math.sqrt(0.02))
    with pytest.raises(KeyError, match='run 1 has keys'):
        aggregate_runs([runs[0], {'dca/accuracy': 0.5}])
    with pytest.raises(ValueError, match='at least one run'):
        aggregate_runs([])
