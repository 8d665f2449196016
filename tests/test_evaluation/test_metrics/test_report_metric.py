# Copyright (c) rrgkit contributors. All rights reserved.
"""Tests of the registered ``ReportMetric`` (no METEOR: no Java start)."""
import pytest
from mmengine.evaluator import Evaluator

from rrgkit.evaluation.functional import (JavaNotFoundError,
                                          compute_nlg_scores, text_tokenize)
from rrgkit.registry import METRICS
from rrgkit.structures.report_sample import ReportDataSample

NO_METEOR = ('BLEU', 'ROUGE_L', 'CIDEr')
SAMPLES = [
    dict(img_id=3, pred_report='the lungs are clear.',
         gt_report='the lungs are clear bilaterally.'),
    dict(img_id=1, pred_report='mild cardiomegaly.',
         gt_report='heart is enlarged.',
         gt_reports=['heart is enlarged.', 'mild cardiomegaly is seen.']),
    dict(img_id=2, pred_report='', gt_report='no pleural effusion.'),
    # Padding of a distributed sampler: id 3 again, with another text.
    dict(img_id=3, pred_report='something else', gt_report='ignored'),
]


def _build(**kwargs):
    cfg = dict(type='ReportMetric', eval_tokenizer='whitespace',
               scores=NO_METEOR)
    cfg.update(kwargs)
    return METRICS.build(cfg)


def test_name_not_taken_by_mmpretrain():
    import mmpretrain.evaluation  # noqa: F401 (registers mmpretrain metrics)
    from mmpretrain.registry import METRICS as MMPRETRAIN_METRICS
    assert 'ReportMetric' not in MMPRETRAIN_METRICS.module_dict
    assert 'ReportMetric' in METRICS.module_dict


def test_evaluate_dedupes_and_prefixes():
    metric = _build(save_records=True)
    assert metric.prefix == 'report'
    metric.process(None, SAMPLES[:2])
    metric.process(None, SAMPLES[2:])
    scores = metric.evaluate(len(SAMPLES))

    expected = compute_nlg_scores(
        {3: 'the lungs are clear.', 1: 'mild cardiomegaly.', 2: ''},
        {3: ['the lungs are clear bilaterally.'],
         1: ['heart is enlarged.', 'mild cardiomegaly is seen.'],
         2: ['no pleural effusion.']},
        eval_tokenizer='whitespace', metrics=NO_METEOR)
    assert scores == {f'report/{k}': v for k, v in expected.items()}
    assert list(scores) == [
        'report/BLEU-1', 'report/BLEU-2', 'report/BLEU-3', 'report/BLEU-4',
        'report/ROUGE-L', 'report/CIDEr-D'
    ]
    assert all(isinstance(v, float) for v in scores.values())
    assert 0 < scores['report/ROUGE-L'] < 1
    assert metric.last_signature == {
        'eval_tokenizer': 'whitespace',
        'num_images': 3,
        'cider_df': 'references of evaluated set'
    }
    assert [r['id'] for r in metric.last_records] == [1, 2, 3]
    assert metric.last_records[2] == {
        'id': 3, 'generated': 'the lungs are clear.',
        'reference': 'the lungs are clear bilaterally.'}
    assert metric.last_records[0]['references'] == [
        'heart is enlarged.', 'mild cardiomegaly is seen.']
    assert metric.results == []  # reset by evaluate


def test_through_evaluator_with_data_samples():
    samples = []
    for i, (pred, gt) in enumerate([('heart normal', 'heart normal'),
                                    ('lungs clear', 'the lungs are clear')]):
        sample = ReportDataSample().set_gt_report(gt).set_pred_report(pred)
        sample.set_metainfo(dict(img_id=f'img{i}'))
        samples.append(sample)
    evaluator = Evaluator(_build(prefix='val', save_records=False))
    evaluator.process(data_samples=samples)
    scores = evaluator.evaluate(2)
    assert set(scores) == {'val/BLEU-1', 'val/BLEU-2', 'val/BLEU-3',
                           'val/BLEU-4', 'val/ROUGE-L', 'val/CIDEr-D'}
    assert scores['val/ROUGE-L'] == pytest.approx(
        (1.0 + (1 + 1.44) * 0.5 / (0.5 + 1.44)) / 2)
    assert evaluator.metrics[0].last_records == []


def test_bad_samples_and_options():
    metric = _build()
    with pytest.raises(KeyError, match="no 'pred_report'.*predict"):
        metric.process(None, [dict(img_id=1, gt_report='x')])
    with pytest.raises(KeyError, match="neither 'gt_report' nor"):
        metric.process(None, [dict(img_id=1, pred_report='x')])
    with pytest.raises(ValueError, match='no results'):
        metric.compute_metrics([])
    with pytest.raises(ValueError, match="unknown eval_tokenizer 'spaces'"):
        _build(eval_tokenizer='spaces')


def test_missing_java_fails_at_build(monkeypatch):
    monkeypatch.setattr(text_tokenize.shutil, 'which', lambda name: None)
    with pytest.raises(JavaNotFoundError, match="eval_tokenizer='whitespace'"):
        METRICS.build(dict(type='ReportMetric'))
    with pytest.raises(JavaNotFoundError, match='METEOR'):
        METRICS.build(dict(type='ReportMetric', eval_tokenizer='char'))
    assert _build(eval_tokenizer='char').eval_tokenizer == 'char'
