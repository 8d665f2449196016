# Copyright (c) rrgkit contributors. All rights reserved.
"""CIDEr-D with document frequencies fixed once, e.g. for an RL reward.

rrgkit reports pycocoevalcap's ``Cider`` class as ``CIDEr-D`` (see
:mod:`.nlg`): tf-idf vectors of the 1..4-grams of a text, the cosine of the
candidate's and each reference's vector with the candidate's weights clipped
at the reference's, a gaussian penalty on the length difference (sigma 6),
the mean over n and over references, times 10. The idf there comes from the
references of the evaluated set. :class:`CiderD` computes the same numbers
with the document frequencies of a corpus given once (e.g. the training
references), so that the score of a text no longer depends on the batch it
is scored in. Given the evaluated set's own references as the corpus it
returns exactly pycocoevalcap's per-item scores.

Texts are already tokenised: space-joined tokens, as
:func:`~.text_tokenize.tokenize_for_eval` returns them.

Two details of pycocoevalcap are kept on purpose, since its scores are
the reference: an n-gram absent from the corpus counts as seen in one
document, and the "length" in the penalty is the number of bigrams
(``max(words - 1, 0)``).
"""
import math
from collections import Counter
from typing import Dict, Iterable, List, NamedTuple, Sequence, Tuple

import numpy as np

__all__ = ['CiderD', 'ngram_counts']

Ngram = Tuple[str, ...]


def ngram_counts(text: str, n: int = 4) -> Counter:
    """Counts of the 1..n-grams of a space-tokenised text."""
    words = text.split()
    return Counter(
        tuple(words[i:i + k]) for k in range(1, n + 1)
        for i in range(len(words) - k + 1))


class _Vector(NamedTuple):
    weights: List[Dict[Ngram, float]]  # per n: n-gram -> tf * idf
    norms: np.ndarray  # (n,) L2 norm of each weights[k]
    length: int  # number of bigrams, as pycocoevalcap counts it


class CiderD:
    """CIDEr-D scorer whose document frequencies come from a fixed corpus.

    Args:
        corpus (Iterable[Sequence[str]]): For each document (an image), its
            tokenised reference texts; an n-gram's document frequency is
            the number of documents whose references contain it.
        n (int): Largest n-gram. Defaults to 4.
        sigma (float): Standard deviation of the length penalty.
            Defaults to 6.
        cache_size (int): How many reference vectors to keep (references
            are scored again and again during training). Defaults to 65536.

    Raises:
        ValueError: If the corpus is empty.
    """

    def __init__(self,
                 corpus: Iterable[Sequence[str]],
                 n: int = 4,
                 sigma: float = 6.0,
                 cache_size: int = 65536) -> None:
        self.n, self.sigma = n, sigma
        self.document_frequency: Counter = Counter()
        num_documents = 0
        for refs in corpus:
            if isinstance(refs, str):
                refs = [refs]
            seen = set()
            for ref in refs:
                seen.update(ngram_counts(ref, n))
            self.document_frequency.update(seen)
            num_documents += 1
        if num_documents == 0:
            raise ValueError('CiderD needs at least one reference document '
                             'for its document frequencies')
        self.num_documents = num_documents
        # idf = log(documents) - log(max(1, df)); unseen n-grams: log(1) = 0.
        self._log_documents = math.log(float(num_documents))
        self._log_df = {g: math.log(df)
                        for g, df in self.document_frequency.items()}
        self._cache: Dict[str, _Vector] = {}
        self._cache_size = cache_size

    def _vector(self, text: str) -> _Vector:
        weights: List[Dict[Ngram, float]] = [{} for _ in range(self.n)]
        norms = np.zeros(self.n)
        length = 0
        log_df, log_documents = self._log_df, self._log_documents
        for ngram, count in ngram_counts(text, self.n).items():
            k = len(ngram) - 1
            weight = float(count) * (log_documents - log_df.get(ngram, 0.0))
            weights[k][ngram] = weight
            norms[k] += weight * weight
            if k == 1:
                length += count
        return _Vector(weights, np.sqrt(norms), length)

    def _reference_vector(self, text: str) -> _Vector:
        vec = self._cache.get(text)
        if vec is None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            vec = self._cache[text] = self._vector(text)
        return vec

    def _similarity(self, hyp: _Vector, ref: _Vector) -> np.ndarray:
        """Per-n clipped cosine times the length penalty, ``(n,)``."""
        val = np.zeros(self.n)
        for k in range(self.n):
            ref_weights = ref.weights[k]
            total = 0.0
            for ngram, weight in hyp.weights[k].items():
                ref_weight = ref_weights.get(ngram)
                if ref_weight is not None:
                    total += min(weight, ref_weight) * ref_weight
            if hyp.norms[k] != 0 and ref.norms[k] != 0:
                total /= hyp.norms[k] * ref.norms[k]
            val[k] = total
        delta = float(hyp.length - ref.length)
        return val * math.exp(-(delta**2) / (2 * self.sigma**2))

    def score(self, candidate: str, references: Sequence[str]) -> float:
        """CIDEr-D of one tokenised candidate against its references.

        Args:
            candidate (str): Space-joined tokens.
            references (Sequence[str]): One or more space-joined references.

        Returns:
            float: The score (x10 scale, as rrgkit reports CIDEr-D).
        """
        if isinstance(references, str):
            references = [references]
        if not references:
            raise ValueError('CIDEr-D needs at least one reference')
        hyp = self._vector(candidate)
        total = np.zeros(self.n)
        for ref in references:
            total += self._similarity(hyp, self._reference_vector(ref))
        return float(np.mean(total) / len(references) * 10.0)

    def scores(self, candidates: Sequence[str],
               references: Sequence[Sequence[str]]) -> np.ndarray:
        """:meth:`score` of every candidate against its references.

        Args:
            candidates (Sequence[str]): ``N`` tokenised texts.
            references (Sequence[Sequence[str]]): ``N`` reference lists.

        Returns:
            np.ndarray: ``(N,)`` scores.
        """
        if len(candidates) != len(references):
            raise ValueError(f'{len(candidates)} candidates but '
                             f'{len(references)} reference lists')
        return np.array(
            [self.score(c, r) for c, r in zip(candidates, references)],
            dtype=np.float64)
