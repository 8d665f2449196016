# Copyright (c) rrgkit contributors. All rights reserved.
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub, MMLogger

from rrgkit.engine.hooks import MostFrequentReportHook
from rrgkit.engine.hooks.reference_baseline_hook import most_frequent_report
from rrgkit.evaluation.functional import compute_nlg_scores
from rrgkit.models.tokenizers import ReportTokenizer


class _Reports:

    def __init__(self, reports):
        self.reports = reports

    def get_reports(self):
        return self.reports


def test_most_frequent_report_breaks_ties_by_first_seen():
    assert most_frequent_report(['b', 'a', 'a', 'b', 'c']) == 'b'
    with pytest.raises(ValueError):
        most_frequent_report([])


def test_hook_logs_the_baseline_scores():
    train = ['Normal heart.', 'A nodule.', 'Normal heart.']
    val = ['Normal heart.', 'A nodule.']
    tok = ReportTokenizer().build_vocab(train)
    hub = MessageHub.get_instance('mfr-hook-test')
    runner = SimpleNamespace(
        model=SimpleNamespace(tokenizer=tok),
        train_dataloader=SimpleNamespace(dataset=_Reports(train)),
        val_dataloader=SimpleNamespace(dataset=_Reports(val)),
        val_evaluator=SimpleNamespace(metrics=[]),
        logger=MMLogger.get_instance('mfr-hook-test'),
        message_hub=hub)
    hook = MostFrequentReportHook(eval_tokenizer='whitespace')
    hook.after_val_epoch(runner, metrics={})
    expected = compute_nlg_scores(
        {0: 'normal heart .', 1: 'normal heart .'},
        {0: ['normal heart .'], 1: ['a nodule .']},
        eval_tokenizer='whitespace', metrics=('BLEU', 'CIDEr'))
    got = hub.get_scalar('val/most_frequent/CIDEr-D').current()
    assert got == pytest.approx(expected['CIDEr-D'])
    assert hub.get_scalar('val/most_frequent/BLEU-1').current() == \
        pytest.approx(expected['BLEU-1'])
