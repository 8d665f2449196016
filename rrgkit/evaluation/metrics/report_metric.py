# Copyright (c) rrgkit contributors. All rights reserved.
"""BLEU / METEOR / ROUGE-L / CIDEr-D of generated reports (mmengine metric)."""
from typing import Any, Dict, Hashable, Iterable, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from rrgkit.registry import METRICS
from ..functional.nlg import (NLG_METRICS, compute_nlg_scores,
                              normalize_nlg_metrics)
from ..functional.text_tokenize import check_eval_tokenizer, require_java

__all__ = ['ReportMetric']

_REQUIRED_KEYS = {
    'img_id': 'the dataset must set it as metainfo',
    'pred_report': "the model's predict() must set it",
}


@METRICS.register_module()
class ReportMetric(BaseMetric):
    """Natural-language metrics of generated reports against references.

    Scores are computed **once on the whole evaluation set**: mmengine's
    :meth:`BaseMetric.evaluate` gathers the results of all ranks and calls
    :meth:`compute_metrics` on rank 0 only. Corpus BLEU, METEOR and CIDEr-D
    (whose idf comes from the references of the evaluated set) are not
    averages over items, so scores must never be averaged over shards.

    Each data sample (a dict, as mmengine converts data samples with
    ``to_dict()``) needs ``img_id``, ``pred_report`` and ``gt_report``; an
    optional ``gt_reports`` list gives several references for one image.

    Args:
        eval_tokenizer (str): Tokenization before scoring: ``'ptb'`` (COCO
            standard, needs Java), ``'whitespace'``, ``'char'`` or
            ``'jieba'`` (Chinese). Defaults to ``'ptb'``.
        scores (Sequence[str]): Which of ``'BLEU'``, ``'METEOR'``,
            ``'ROUGE_L'``, ``'CIDEr'`` to compute. Defaults to all four.
        save_records (bool): Keep ``{'id', 'generated', 'reference'}`` per
            image (sorted by id) in :attr:`last_records` after each
            evaluation, e.g. for ``tools/test.py`` to write. With several
            references, ``'reference'`` is the first one and
            ``'references'`` holds all. Defaults to False.
        collect_device (str): Device used to gather results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric keys. Defaults to
            ``'report'`` (e.g. ``report/CIDEr-D``).

    Attributes:
        last_records (list[dict]): See ``save_records``; empty when off.
        last_signature (dict, optional): How the last scores were computed:
            ``eval_tokenizer``, ``num_images`` and ``cider_df``. Kept out of
            the returned dict, which mmengine logs as scalars.
    """

    default_prefix: Optional[str] = 'report'

    def __init__(self,
                 eval_tokenizer: str = 'ptb',
                 scores: Sequence[str] = NLG_METRICS,
                 save_records: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.eval_tokenizer = check_eval_tokenizer(eval_tokenizer)
        # Not named ``metrics``: mmengine takes a metric config with a
        # ``metrics`` key for an Evaluator config.
        self.scores = normalize_nlg_metrics(scores)
        # Fail when the config is built, not after the first epoch.
        if eval_tokenizer == 'ptb':
            require_java("ReportMetric(eval_tokenizer='ptb')",
                         "set eval_tokenizer='whitespace'")
        if 'METEOR' in self.scores:
            require_java('ReportMetric with METEOR',
                         "leave 'METEOR' out of scores")
        self.save_records = save_records
        self.last_records: List[Dict[str, Any]] = []
        self.last_signature: Optional[Dict[str, Any]] = None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store the generated and reference reports of one batch.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): Model outputs, one dict (or data
                sample with ``to_dict``) per image.
        """
        for sample in data_samples:
            if not isinstance(sample, dict) and hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            for key, hint in _REQUIRED_KEYS.items():
                if key not in sample:
                    raise KeyError(f'ReportMetric: data sample has no {key!r}'
                                   f' (keys: {sorted(sample)}); {hint}')
            refs = sample.get('gt_reports')
            if not refs:
                if 'gt_report' not in sample:
                    raise KeyError('ReportMetric: data sample has neither '
                                   "'gt_report' nor 'gt_reports' (keys: "
                                   f'{sorted(sample)})')
                refs = [sample['gt_report']]
            self.results.append({
                'id': _plain_id(sample['img_id']),
                'pred': str(sample['pred_report']),
                'refs': [str(r) for r in refs],
            })

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score the whole gathered evaluation set.

        Duplicate ids (e.g. a distributed sampler padding the last batch)
        are dropped, keeping the first occurrence.

        Args:
            results (list[dict]): ``{'id', 'pred', 'refs'}`` from all ranks.

        Returns:
            dict[str, float]: ``BLEU-1`` .. ``BLEU-4``, ``METEOR``,
            ``ROUGE-L``, ``CIDEr-D`` (the requested ones).
        """
        unique: Dict[Hashable, dict] = {}
        for result in results:
            unique.setdefault(result['id'], result)
        if not unique:
            raise ValueError('ReportMetric received no results: check that '
                             'the evaluation dataloader is not empty')
        scores = compute_nlg_scores(
            {i: r['pred'] for i, r in unique.items()},
            {i: r['refs'] for i, r in unique.items()},
            eval_tokenizer=self.eval_tokenizer,
            metrics=self.scores)
        self.last_signature = {
            'eval_tokenizer': self.eval_tokenizer,
            'num_images': len(unique),
            'cider_df': 'references of evaluated set',
        }
        dropped = len(results) - len(unique)
        print_log(
            f'ReportMetric: scored {len(unique)} images with '
            f'eval_tokenizer={self.eval_tokenizer!r}'
            + (f' ({dropped} duplicate ids dropped)' if dropped else ''),
            logger='current')
        self.last_records = []
        if self.save_records:
            for i in _sorted_ids(unique):
                refs = unique[i]['refs']
                record = {'id': i, 'generated': unique[i]['pred'],
                          'reference': refs[0]}
                if len(refs) > 1:
                    record['references'] = list(refs)
                self.last_records.append(record)
        return scores


def _plain_id(img_id: Any) -> Hashable:
    """Turn numpy / torch scalars into Python values so ids compare."""
    if not isinstance(img_id, (str, bytes)) and hasattr(img_id, 'item'):
        return img_id.item()
    return img_id


def _sorted_ids(ids: Iterable[Hashable]) -> List[Hashable]:
    ids = list(ids)
    try:
        return sorted(ids)
    except TypeError:  # mixed id types
        return sorted(ids, key=lambda i: (type(i).__name__, str(i)))
