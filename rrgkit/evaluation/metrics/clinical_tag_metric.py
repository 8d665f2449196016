# Copyright (c) rrgkit contributors. All rights reserved.
"""Clinical efficacy (CE) of generated reports from mined tags (metric)."""
import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from rrgkit.datasets.tags import TagVocabulary, normalize_language
from rrgkit.registry import METRICS
from ..functional.clinical import (ce_item_scores, ce_scores, label_texts,
                                   load_ce_vocabulary,
                                   resolve_negation_window)
from ..functional.conclusion import ConclusionExtractor
from .dca_metric import DiagnosticAccuracyMetric, _plain

__all__ = ['ClinicalTagMetric']


@METRICS.register_module()
class ClinicalTagMetric(BaseMetric):
    """Clinical efficacy: tags of the generated vs the reference report.

    Each generated report (``pred_report``) and its reference (the first
    of ``gt_reports``, the tokenizer-normalised references models set, else
    ``gt_report``) are labelled with the tag miner over a mined vocabulary;
    precision, recall and F1 are computed once on the whole gathered set
    (:mod:`rrgkit.evaluation.functional.clinical` has the conventions).
    The diagnostic conclusion accuracy read from the same generated text
    is included: a :class:`DiagnosticAccuracyMetric` scores the samples
    that have a ``gt_label`` (others skip it). Samples with an ``img_id``
    seen before (padding of a distributed sampler) are dropped.

    The vocabulary is, in order: ``vocabulary``; ``tags_file`` when it
    exists; else mined from the training reports of ``data_root`` /
    ``ann_file`` (the vocabulary ``mine_tags.py`` would write), so a fresh
    clone without the mined file still scores.

    Args:
        tags_file (str, optional): A tag file of ``tools/dataset_converters/
            mine_tags.py``. Defaults to None.
        vocabulary (TagVocabulary | dict, optional): The vocabulary itself
            (or its ``to_dict()`` form). Defaults to None.
        ann_file (str, optional): Annotation to mine when ``tags_file`` is
            absent. Defaults to None.
        data_root (str): Folder ``ann_file`` is relative to. Defaults to ''.
        language (str, optional): Language of the reports; checked against
            the vocabulary and the evaluated dataset. Defaults to the
            vocabulary's.
        min_count (int): Mining threshold. Defaults to 3.
        negation_window (int | None | str): Negation scope cap in words;
            'auto' (6 words for English, clause-long for Chinese).
            Defaults to 'auto'.
        dca (bool): Also score the conclusion accuracy. Defaults to True.
        extractor (ConclusionExtractor | str | dict, optional): Its
            extractor; None takes the ``covctr_en`` / ``covctr_zh`` preset
            of the language. Defaults to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'CE'``.

    Returns (of ``evaluate``), with the prefix: ``abnormal/micro_P``,
    ``abnormal/micro_R``, ``abnormal/micro_F1``, ``abnormal/macro_P``,
    ``abnormal/macro_R``, ``abnormal/macro_F1``, ``abnormal/num_tags``,
    the same for ``all/``, ``num_samples``, and ``DCA/accuracy``,
    ``DCA/undetermined``, ``DCA/accuracy_<class>``, ``DCA/num_samples``
    when samples have labels.

    Attributes:
        last_items (list[dict]): Per image after each evaluation: ``id``,
            ``generated_tags``, ``reference_tags`` and the per-image
            ``abnormal/F1`` and ``all/F1``.
    """

    default_prefix: Optional[str] = 'CE'

    def __init__(self,
                 tags_file: Optional[str] = None,
                 vocabulary: Union[TagVocabulary, Mapping, None] = None,
                 ann_file: Optional[str] = None,
                 data_root: str = '',
                 language: Optional[str] = None,
                 min_count: int = 3,
                 negation_window: Union[int, None, str] = 'auto',
                 dca: bool = True,
                 extractor: Union[ConclusionExtractor, str, Mapping,
                                  None] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if ann_file is not None and data_root:
            ann_file = osp.join(data_root, ann_file)
        self.vocab = load_ce_vocabulary(tags_file, vocabulary, ann_file,
                                        language, min_count)
        if vocabulary is None and not osp.isfile(str(tags_file)):
            print_log(
                f'ClinicalTagMetric: tag file {tags_file!r} not found; '
                f'scoring with the {len(self.vocab)} tags mined from the '
                f'training reports of {ann_file} (what `python tools/'
                f'dataset_converters/mine_tags.py {ann_file} --language '
                f'{self.vocab.language} --out {tags_file}` writes).',
                logger='current')
        self.negation_window = resolve_negation_window(negation_window,
                                                       self.vocab.language)
        self._dca = None
        if dca:
            short = 'en' if self.vocab.language == 'english' else 'zh'
            self._dca = DiagnosticAccuracyMetric(
                extractor=f'covctr_{short}' if extractor is None else
                extractor)
        self.last_items: List[Dict[str, Any]] = []

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Meta info of the evaluated dataset (its language is checked)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta: Optional[dict]) -> None:
        language = (meta or {}).get('language')
        if language and normalize_language(language) != self.vocab.language:
            raise ValueError(
                f'ClinicalTagMetric: the evaluated dataset is '
                f'{normalize_language(language)} but the tag vocabulary is '
                f'{self.vocab.language}; give the metric a '
                f'{normalize_language(language)} tags_file (and language).')
        BaseMetric.dataset_meta.fset(self, meta)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Label the generated and the reference report of each sample.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): Model outputs, one per image.
        """
        for sample in data_samples:
            if not isinstance(sample, Mapping) and hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            if 'pred_report' not in sample:
                raise KeyError(
                    'ClinicalTagMetric: data sample has no \'pred_report\' '
                    f"(keys: {sorted(sample)}); the model's predict() must "
                    'set it')
            refs = sample.get('gt_reports') or (
                [sample['gt_report']] if 'gt_report' in sample else [])
            if not refs:
                raise KeyError('ClinicalTagMetric: data sample has neither '
                               "'gt_reports' nor 'gt_report' (keys: "
                               f'{sorted(sample)})')
            pred, gt = label_texts([str(sample['pred_report']), str(refs[0])],
                                   self.vocab, self.negation_window)
            dca = None
            if self._dca is not None and sample.get('gt_label') is not None:
                self._dca.process(None, [sample])
                dca = self._dca.results.pop()
            self.results.append(dict(id=_plain(sample.get('img_id')),
                                     pred=sorted(pred), gt=sorted(gt),
                                     dca=dca))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """CE (and DCA) over the whole gathered evaluation set.

        Args:
            results (list[dict]): ``{'id', 'pred', 'gt', 'dca'}`` from all
                ranks.

        Returns:
            dict[str, float]: See the class docstring.
        """
        unique, seen = [], set()
        for result in results:
            if result['id'] is not None:
                if result['id'] in seen:
                    continue
                seen.add(result['id'])
            unique.append(result)
        if not unique:
            raise ValueError('ClinicalTagMetric received no results: check '
                             'that the evaluation dataloader is not empty')
        pred = [frozenset(r['pred']) for r in unique]
        gt = [frozenset(r['gt']) for r in unique]
        scores = ce_scores(pred, gt, self.vocab)
        scores['num_samples'] = float(len(unique))
        labelled = [r['dca'] for r in unique if r['dca'] is not None]
        if labelled:
            scores.update({f'DCA/{k}': v for k, v in
                           self._dca.compute_metrics(labelled).items()})
        items = ce_item_scores(pred, gt, self.vocab)
        self.last_items = [
            dict(id=r['id'], generated_tags=r['pred'], reference_tags=r['gt'],
                 **{k: items[k][i] for k in ('abnormal/F1', 'all/F1')})
            for i, r in enumerate(unique)
        ]
        return scores
