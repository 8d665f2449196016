# Copyright (c) rrgkit contributors. All rights reserved.
"""CIDEr-D as a reward, with the idf of the training references."""
from typing import Dict, List, Optional, Sequence

import numpy as np

from rrgkit.registry import REWARDS
from ..functional.cider_reward import CiderD
from ..functional.text_tokenize import check_eval_tokenizer, tokenize_for_eval

__all__ = ['CIDErDReward']

_CACHE_SIZE = 65536  # tokenised reference texts kept


@REWARDS.register_module()
class CIDErDReward:
    """CIDEr-D of each generated report (pycocoevalcap's variant).

    The document frequencies are computed once, by :meth:`fit`, from the
    training references, so a report's reward does not depend on the batch
    it was sampled in. With the same references given to :meth:`fit` and to
    the call it equals rrgkit's ``report/CIDEr-D`` per item (see
    :mod:`rrgkit.evaluation.functional.cider_reward`).

    Predictions and references are the generator's normalised texts (what
    ``pred_report`` and ``gt_reports`` hold); they are tokenised with
    ``eval_tokenizer`` first, as :class:`~rrgkit.evaluation.ReportMetric`
    does.

    Args:
        eval_tokenizer (str): ``'whitespace'``, ``'char'``, ``'jieba'`` or
            ``'ptb'`` (see :func:`~rrgkit.evaluation.tokenize_for_eval`).
            ``'ptb'`` starts Java at every training step; on rrgkit's
            normalised English text ``'whitespace'`` gives the same tokens
            without it. Defaults to ``'whitespace'``.
        n (int): Largest n-gram. Defaults to 4.
        sigma (float): Length-penalty standard deviation. Defaults to 6.
    """

    def __init__(self,
                 eval_tokenizer: str = 'whitespace',
                 n: int = 4,
                 sigma: float = 6.0) -> None:
        self.eval_tokenizer = check_eval_tokenizer(eval_tokenizer)
        self.n, self.sigma = n, sigma
        self.scorer: Optional[CiderD] = None
        self._ref_tokens: Dict[str, str] = {}  # references recur each epoch

    def _tokenize(self, texts: Sequence[Sequence[str]]) -> List[List[str]]:
        keyed = {i: list(refs) for i, refs in enumerate(texts)}
        tokens = tokenize_for_eval(keyed, self.eval_tokenizer)
        return [tokens[i] for i in range(len(texts))]

    def _tokenize_references(
            self, references: Sequence[Sequence[str]]) -> List[List[str]]:
        new = sorted({r for refs in references for r in refs} -
                     set(self._ref_tokens))
        if len(self._ref_tokens) + len(new) > _CACHE_SIZE:
            self._ref_tokens.clear()
            new = sorted({r for refs in references for r in refs})
        if new:
            self._ref_tokens.update(
                zip(new, (t[0] for t in self._tokenize([[r] for r in new]))))
        return [[self._ref_tokens[r] for r in refs] for refs in references]

    def fit(self, references: Sequence[Sequence[str]]) -> 'CIDErDReward':
        """Compute the document frequencies (one document per image).

        Args:
            references (Sequence[Sequence[str]]): The references of every
                training image.

        Returns:
            CIDErDReward: ``self``.
        """
        self.scorer = CiderD(self._tokenize(references), self.n, self.sigma)
        return self

    def __call__(self, predictions: Sequence[str],
                 references: Sequence[Sequence[str]]) -> np.ndarray:
        """CIDEr-D of each prediction against its references, ``(N,)``."""
        if self.scorer is None:
            raise RuntimeError('CIDErDReward has no document frequencies: '
                               'call fit(training references) first.')
        hyps = [t[0] for t in self._tokenize([[p] for p in predictions])]
        return self.scorer.scores(hyps, self._tokenize_references(references))
