# Copyright (c) rrgkit contributors. All rights reserved.
"""Symptom-description retrieval, Cr@k (MDNet, Zhang et al., CVPR 2017).

MDNet checks that a generated description carries the visual evidence of
its diagnosis: a test report with its conclusion words removed
(:func:`strip_conclusion`) is a query; every test image is ranked by the
model's likelihood of that text given the image; ``Cr@k`` is the share of
the top-k images whose diagnostic label equals the query's, averaged over
queries (:func:`conclusion_recall_at_k`).

This stays functional, not an mmengine metric: a metric only sees each
batch's outputs, while Cr@k needs the likelihood of *every* query under
*every* image, i.e. ``num_queries x num_images`` extra forward passes after
the whole test set is known. The caller (a tool or hook with the model)
builds the score matrix, e.g. from the model's
``score_texts(images, token_ids)``, and passes it here.
"""
import re
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from rrgkit.datasets.tags.negation import normalize_language
from .conclusion import (ConclusionExtractor, build_conclusion_extractor,
                         keyword_regex, sentence_regex)

__all__ = ['strip_conclusion', 'rank_images', 'conclusion_recall_at_k']

_SENTENCE_END = '.。!！?？'
_PUNCT = _SENTENCE_END + ',，;；:：、'
_PUNCT_RUN = re.compile(r'(\s*)([{0}])(?:\s*[{0}])+'.format(
    re.escape(_PUNCT)))
_LEADING = re.compile(r'^[\s{}]+'.format(re.escape(_PUNCT)))


def strip_conclusion(text: str,
                     conclusion: Union[ConclusionExtractor, str,
                                       Sequence[str]] = 'covctr_en',
                     language: Optional[str] = None) -> str:
    """Remove the conclusion sentences and words from a query report.

    Args:
        text (str): The report (raw or tokenised, e.g. ``'a . b .'``).
        conclusion (ConclusionExtractor | str | Sequence[str]): What to
            remove. An extractor, or a preset name such as ``'covctr_en'``:
            its ``conclusions`` (whole template sentences) and its
            ``conclusion_words``. A list: items ending with sentence
            punctuation (``. 。 ! ?``) are removed as sentences, the others
            as words. Matching ignores case and spacing; an English word
            matches at a word start and is removed up to the word end
            (``'covid'`` removes "covid-19"). Defaults to ``'covctr_en'``.
        language (str, optional): 'en' or 'zh' for a word list; an
            extractor brings its own. Defaults to None ('en').

    Returns:
        str: The text without them; whitespace runs collapse to one space,
        and punctuation left doubled (``'a . . b'``, ``'影，。'``) or leading
        is tidied (a sentence end wins over a comma).
    """
    if isinstance(conclusion, (ConclusionExtractor, str)):
        extractor = build_conclusion_extractor(conclusion)
        sentences = list(extractor.conclusions.values())
        words = list(extractor.conclusion_words)
        language = extractor.language
    else:
        items = [str(w) for w in conclusion]
        if not items:
            raise ValueError('strip_conclusion: the word list is empty')
        sentences = [w for w in items if w.strip()[-1:] in _SENTENCE_END]
        words = [w for w in items if w.strip()[-1:] not in _SENTENCE_END]
        language = language or 'en'
    chinese = normalize_language(language) == 'chinese'
    # Each removal takes the whitespace before it along.
    for sentence in sentences:
        regex = sentence_regex(sentence)
        text = re.sub(r'\s*(?:' + regex.pattern + ')', '', text,
                      flags=regex.flags)
    # Longest first, so 'novel coronavirus' goes before 'coronavirus'.
    for word in sorted(words, key=len, reverse=True):
        regex = keyword_regex(word, language)
        tail = '' if chinese else r'[\w\-]*'
        text = re.sub(r'\s*(?:' + regex.pattern + ')' + tail, '', text,
                      flags=regex.flags)
    text = re.sub(r'\s+', ' ', text).strip()
    text = _PUNCT_RUN.sub(_tidy_run, text)
    return _LEADING.sub('', text)


def _tidy_run(match: 're.Match') -> str:
    marks = [c for c in match.group() if not c.isspace()]
    ends = [c for c in marks if c in _SENTENCE_END]
    return match.group(1) + (ends[0] if ends else marks[0])


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def rank_images(scores: Any) -> np.ndarray:
    """Image indices per query, best first (ties: lower index first).

    Args:
        scores (array-like): ``(num_queries, num_images)``; higher = better
            (e.g. log-likelihoods). ``-inf`` is allowed, NaN is not.

    Returns:
        np.ndarray: ``(num_queries, num_images)`` int indices.
    """
    scores = _as_array(scores)
    if scores.ndim != 2 or 0 in scores.shape:
        raise ValueError(f'scores must be a non-empty (num_queries, '
                         f'num_images) matrix, got shape {scores.shape}')
    scores = scores.astype(np.float64)
    if np.isnan(scores).any():
        raise ValueError('scores contain NaN: check the model\'s '
                         'log-likelihoods (e.g. an empty query text)')
    # A stable sort of the negated scores keeps tied images in index order.
    return np.argsort(-scores, axis=1, kind='stable')


def conclusion_recall_at_k(scores: Any,
                           query_labels: Any,
                           image_labels: Any,
                           ks: Sequence[int] = (1, 5, 10)
                           ) -> Dict[str, float]:
    """Cr@k: share of the top-k images with the query's conclusion.

    Args:
        scores (array-like): ``scores[q, i]``, the model's log-likelihood of
            query text ``q`` given image ``i`` (higher = better), shape
            ``(num_queries, num_images)``.
        query_labels (array-like): ``(num_queries,)`` conclusion class of
            each query report.
        image_labels (array-like): ``(num_images,)`` class of each image.
        ks (Sequence[int]): Cut-offs, each in ``[1, num_images]``.
            Defaults to (1, 5, 10).

    Returns:
        dict[str, float]: ``{'Cr@1': ..., 'Cr@5': ..., 'Cr@10': ...}``, each
        the mean over queries of ``#{top-k images with the query's label} /
        k``.
    """
    ranking = rank_images(scores)
    num_queries, num_images = ranking.shape
    query_labels = _labels(query_labels, num_queries, 'query_labels',
                           'num_queries = scores.shape[0]')
    image_labels = _labels(image_labels, num_images, 'image_labels',
                           'num_images = scores.shape[1]')
    ks = [ks] if isinstance(ks, (int, np.integer)) else list(ks)
    if not ks:
        raise ValueError('ks is empty; pass cut-offs such as (1, 5, 10)')
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) \
                or not 1 <= k <= num_images:
            raise ValueError(f'k={k!r} must be an int in [1, num_images='
                             f'{num_images}]; drop it from ks or rank more '
                             'images')
    same = image_labels[ranking] == query_labels[:, None]  # (Q, I)
    hits = np.cumsum(same, axis=1)
    return {f'Cr@{k}': float(np.mean(hits[:, k - 1] / k)) for k in ks}


def _labels(value: Any, size: int, name: str, what: str) -> np.ndarray:
    labels = _as_array(value)
    if labels.ndim != 1 or len(labels) != size:
        raise ValueError(f'{name} must have shape ({size},) to match '
                         f'{what}, got {labels.shape}')
    return labels
