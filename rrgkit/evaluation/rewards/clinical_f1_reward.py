# Copyright (c) rrgkit contributors. All rights reserved.
"""Clinical efficacy (CE) F1 of each generated report, as a reward."""
import os.path as osp
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Union

from rrgkit.datasets.tags import TagVocabulary
from rrgkit.registry import REWARDS
from ..functional.clinical import (CE_GROUPS, ce_item_scores, label_texts,
                                   load_ce_vocabulary)

__all__ = ['ClinicalF1Reward']

_CACHE_SIZE = 65536  # labelled reference texts kept


@REWARDS.register_module()
class ClinicalF1Reward:
    """Per-image CE F1: the generated report's tags against the reference's.

    The per-image F1 that ``ClinicalTagMetric`` reports (``abnormal/F1`` or
    ``all/F1`` of :func:`~rrgkit.evaluation.functional.ce_item_scores`; an
    image without tags of the group on either side scores 1), from the
    first reference of each image. Mix it with CIDEr-D in an SCST
    ``reward_cfg``::

        reward_cfg=dict(
            cider=dict(type='CIDErDReward'),
            ce=dict(type='ClinicalF1Reward', weight=1.0,
                    tags_file='data/covctr_tags_en.json',
                    data_root='data/covctr', ann_file='annotation.json',
                    language='english'))

    Args:
        tags_file, vocabulary, ann_file, data_root, language, min_count,
            negation_window: The tag vocabulary and labelling, as for
            ``ClinicalTagMetric``.
        group (str): ``'abnormal'`` (findings) or ``'all'`` (normal tags
            too). Defaults to ``'abnormal'``.
    """

    def __init__(self,
                 tags_file: Optional[str] = None,
                 vocabulary: Union[TagVocabulary, Mapping, None] = None,
                 ann_file: Optional[str] = None,
                 data_root: str = '',
                 language: Optional[str] = None,
                 min_count: int = 3,
                 negation_window: Union[int, None, str] = 'auto',
                 group: str = 'abnormal') -> None:
        if group not in CE_GROUPS:
            raise ValueError(f'ClinicalF1Reward: group={group!r}; choose '
                             f'one of {CE_GROUPS}')
        if ann_file is not None and data_root:
            ann_file = osp.join(data_root, ann_file)
        self.vocab = load_ce_vocabulary(tags_file, vocabulary, ann_file,
                                        language, min_count)
        self.negation_window, self.group = negation_window, group
        self._ref_tags: Dict[str, FrozenSet[str]] = {}

    def _label(self, texts: Sequence[str]) -> List[FrozenSet[str]]:
        return label_texts(texts, self.vocab, self.negation_window)

    def _reference_tags(self, texts: Sequence[str]) -> List[FrozenSet[str]]:
        new = sorted(set(texts) - set(self._ref_tags))
        if len(self._ref_tags) + len(new) > _CACHE_SIZE:
            self._ref_tags.clear()
            new = sorted(set(texts))
        self._ref_tags.update(zip(new, self._label(new)))
        return [self._ref_tags[t] for t in texts]

    def __call__(self, predictions: Sequence[str],
                 references: Sequence[Sequence[str]]) -> List[float]:
        """CE F1 of each prediction against its first reference."""
        gt = self._reference_tags([refs[0] for refs in references])
        scores = ce_item_scores(self._label(predictions), gt, self.vocab)
        return scores[f'{self.group}/F1']
