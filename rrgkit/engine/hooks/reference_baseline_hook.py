# Copyright (c) rrgkit contributors. All rights reserved.
"""Log a sanity baseline beside the model's validation scores."""
from collections import Counter
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from rrgkit.registry import HOOKS

__all__ = ['MostFrequentReportHook', 'most_frequent_report']


def most_frequent_report(reports) -> str:
    """The most frequent report (ties broken by first occurrence).

    Args:
        reports (Iterable[str]): Training reports, already normalised.

    Returns:
        str: The most frequent one.
    """
    counts = Counter(reports)
    if not counts:
        raise ValueError('No training reports to pick a baseline from.')
    return counts.most_common(1)[0][0]


@HOOKS.register_module()
class MostFrequentReportHook(Hook):
    """Score "always emit the most frequent training report" on val.

    The baseline is computed once, with the same normalisation (the model's
    tokenizer) and the same evaluation tokenization as the validation
    metric, and logged under ``val/most_frequent/<metric>`` after every
    validation, next to the model's own scores, so a run shows at a glance
    whether the model beats the most trivial report generator.

    Args:
        eval_tokenizer (str, optional): Evaluation tokenization; defaults to
            that of the first ``ReportMetric`` of the val evaluator.
        metrics (tuple): Scores to compute. Defaults to BLEU and CIDEr.
    """

    priority = 'NORMAL'

    def __init__(self,
                 eval_tokenizer: Optional[str] = None,
                 metrics=('BLEU', 'CIDEr')) -> None:
        self.eval_tokenizer = eval_tokenizer
        self.metrics = tuple(metrics)
        self._scores: Optional[Dict[str, float]] = None

    def _compute(self, runner) -> Dict[str, float]:
        from rrgkit.evaluation.functional import compute_nlg_scores
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        normalise = model.tokenizer.detokenize_reference
        train_reports = runner.train_dataloader.dataset.get_reports()
        baseline = most_frequent_report(normalise(r) for r in train_reports)
        val_reports = runner.val_dataloader.dataset.get_reports()
        refs = {i: [normalise(r)] for i, r in enumerate(val_reports)}
        preds = {i: baseline for i in refs}
        eval_tokenizer = self.eval_tokenizer
        if eval_tokenizer is None:
            eval_tokenizer = next(
                (m.eval_tokenizer for m in runner.val_evaluator.metrics
                 if hasattr(m, 'eval_tokenizer')), 'ptb')
        scores = compute_nlg_scores(
            preds, refs, eval_tokenizer=eval_tokenizer, metrics=self.metrics)
        runner.logger.info(
            'Most frequent training report (baseline, emitted for all '
            f'{len(refs)} val images): "{baseline[:120]}" -> ' +
            ', '.join(f'{k}={v:.4f}' for k, v in scores.items()))
        return scores

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._scores is None:
            self._scores = self._compute(runner)
        for key, value in self._scores.items():
            runner.message_hub.update_scalar(f'val/most_frequent/{key}',
                                             value)
