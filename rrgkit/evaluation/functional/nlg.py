# Copyright (c) rrgkit contributors. All rights reserved.
"""Corpus-level n-gram metrics for generated reports (pycocoevalcap).

Keys and scales of the returned scores (pycocoevalcap's native scale):

- ``BLEU-1`` .. ``BLEU-4``: corpus BLEU (``Bleu(4)``, "closest" reference
  length), 0..1.
- ``METEOR``: METEOR 1.5 (``Meteor()``, a Java subprocess), 0..1. The corpus
  value is METEOR's aggregate over the summed statistics, not the mean of
  the per-item values. METEOR runs with ``-l en -norm`` and re-tokenizes
  its input: CJK text ends up scored per character, so for Chinese METEOR
  is the same with ``eval_tokenizer='char'`` and ``'jieba'``.
- ``ROUGE-L``: mean per-item ROUGE-L F-score (beta 1.2), 0..1.
- ``CIDEr-D``: pycocoevalcap's ``Cider`` class, which is the CIDEr-D variant
  (clipped n-gram counts, gaussian length penalty with sigma 6, scores x10),
  typically 0..10. Its document frequencies (idf) are computed over the
  references of the evaluated set only, so the score of a report depends on
  the other reports of the set. With a single item the idf is degenerate
  (every n-gram has idf 0) and CIDEr-D is 0.
"""
import contextlib
import io
import threading
import warnings
from typing import (Dict, Hashable, Iterable, List, Mapping, Sequence, Tuple,
                    Union)

from .text_tokenize import (check_eval_tokenizer, require_java,
                            tokenize_for_eval)

__all__ = [
    'NLG_METRICS', 'NLG_SCORE_KEYS', 'normalize_nlg_metrics',
    'compute_nlg_scores', 'compute_nlg_scores_per_item',
    'compute_nlg_scores_with_items'
]

#: Metric names accepted in ``metrics`` and the score keys each produces.
NLG_METRICS = ('BLEU', 'METEOR', 'ROUGE_L', 'CIDEr')
NLG_SCORE_KEYS = {
    'BLEU': ('BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4'),
    'METEOR': ('METEOR', ),
    'ROUGE_L': ('ROUGE-L', ),
    'CIDEr': ('CIDEr-D', ),
}
_ALIASES = {
    'bleu': 'BLEU',
    'meteor': 'METEOR',
    'rouge_l': 'ROUGE_L',
    'rouge-l': 'ROUGE_L',
    'cider': 'CIDEr',
    'cider-d': 'CIDEr',
}

Scores = Dict[str, float]
ItemScores = Dict[str, Dict[Hashable, float]]


def normalize_nlg_metrics(
        metrics: Union[str, Iterable[str]]) -> Tuple[str, ...]:
    """Validate metric names and return them in canonical order.

    Names are case-insensitive; the score keys ``'ROUGE-L'`` and
    ``'CIDEr-D'`` are accepted as aliases.

    Raises:
        ValueError: For an unknown name or an empty selection.
    """
    if isinstance(metrics, str):
        metrics = (metrics, )
    chosen = set()
    for name in metrics:
        canonical = _ALIASES.get(str(name).lower())
        if canonical is None:
            raise ValueError(f'unknown NLG metric {name!r}; valid metrics are '
                             f'{", ".join(repr(m) for m in NLG_METRICS)}')
        chosen.add(canonical)
    if not chosen:
        raise ValueError('metrics is empty; choose from '
                         f'{", ".join(repr(m) for m in NLG_METRICS)}')
    return tuple(m for m in NLG_METRICS if m in chosen)


def compute_nlg_scores(
        predictions: Mapping[Hashable, str],
        references: Mapping[Hashable, Sequence[str]],
        *,
        eval_tokenizer: str = 'ptb',
        metrics: Iterable[str] = NLG_METRICS) -> Scores:
    """Corpus-level BLEU-1..4, METEOR, ROUGE-L and CIDEr-D.

    Args:
        predictions (Mapping[Hashable, str]): Item id to generated report.
        references (Mapping[Hashable, Sequence[str]]): Item id to one or more
            reference reports (a plain string counts as one reference).
        eval_tokenizer (str): Tokenization before scoring, see
            :func:`tokenize_for_eval`. Defaults to ``'ptb'``.
        metrics (Iterable[str]): Which of ``'BLEU'``, ``'METEOR'``,
            ``'ROUGE_L'``, ``'CIDEr'`` to compute; the others are not run.
            Defaults to all four.

    Returns:
        dict[str, float]: Scores keyed ``BLEU-1`` .. ``BLEU-4``, ``METEOR``,
        ``ROUGE-L``, ``CIDEr-D`` (only the requested ones), see the module
        docstring for scales.

    Raises:
        ValueError: If the ids of the two mappings differ, an item has no
            reference, nothing is given, or an option is unknown.
        JavaNotFoundError: If ``'ptb'`` or METEOR is used without Java.
    """
    return compute_nlg_scores_with_items(
        predictions, references, eval_tokenizer=eval_tokenizer,
        metrics=metrics)[0]


def compute_nlg_scores_per_item(
        predictions: Mapping[Hashable, str],
        references: Mapping[Hashable, Sequence[str]],
        *,
        eval_tokenizer: str = 'ptb',
        metrics: Iterable[str] = NLG_METRICS) -> ItemScores:
    """Per-item scores, e.g. for paired significance tests.

    Every scorer provides per-item values: sentence BLEU-n (pycocoevalcap's
    smoothed sentence-level BLEU), METEOR segment scores, ROUGE-L and CIDEr-D
    per item. The CIDEr-D idf still comes from the whole evaluated set.
    Corpus BLEU and METEOR are not the mean of these values; ROUGE-L and
    CIDEr-D are.

    Args: see :func:`compute_nlg_scores`.

    Returns:
        dict[str, dict[Hashable, float]]: Score key to ``{item id: score}``.
    """
    return compute_nlg_scores_with_items(
        predictions, references, eval_tokenizer=eval_tokenizer,
        metrics=metrics)[1]


def compute_nlg_scores_with_items(
        predictions: Mapping[Hashable, str],
        references: Mapping[Hashable, Sequence[str]],
        *,
        eval_tokenizer: str = 'ptb',
        metrics: Iterable[str] = NLG_METRICS) -> Tuple[Scores, ItemScores]:
    """Corpus and per-item scores from one run of the scorers.

    Saves a second METEOR start (several seconds) when both are needed.
    Args and errors as :func:`compute_nlg_scores`.

    Returns:
        tuple[dict, dict]: ``(corpus scores, per-item scores)``.
    """
    check_eval_tokenizer(eval_tokenizer)
    names = normalize_nlg_metrics(metrics)
    ids, refs = _check_inputs(predictions, references)
    if 'METEOR' in names:  # fail before the slow work, not after it
        require_java('the METEOR metric',
                     "leave 'METEOR' out of metrics")
    scorers = _import_scorers()

    texts = {('hyp', i): [predictions[i]] for i in ids}
    texts.update({('ref', i): refs[i] for i in ids})
    tokens = tokenize_for_eval(texts, eval_tokenizer)
    res = {i: tokens[('hyp', i)] for i in ids}
    gts = {i: tokens[('ref', i)] for i in ids}

    corpus: Scores = {}
    items: ItemScores = {}

    def put(key, value, per_item):
        corpus[key] = float(value)
        items[key] = {i: float(s) for i, s in zip(ids, per_item)}

    # pycocoevalcap prints progress and BLEU statistics; keep stdout clean.
    with contextlib.redirect_stdout(io.StringIO()):
        if 'BLEU' in names:
            value, per_item = scorers['Bleu'](4).compute_score(
                gts, res, verbose=0)
            for n, key in enumerate(NLG_SCORE_KEYS['BLEU']):
                put(key, value[n], per_item[n])
        if 'METEOR' in names:
            put('METEOR', *_meteor(scorers['Meteor'], gts, res))
        if 'ROUGE_L' in names:
            put('ROUGE-L', *scorers['Rouge']().compute_score(gts, res))
        if 'CIDEr' in names:
            put('CIDEr-D', *_cider(scorers['Cider'], gts, res))
    return corpus, items


def _check_inputs(predictions, references):
    for name, value in (('predictions', predictions),
                        ('references', references)):
        if not isinstance(value, Mapping):
            raise TypeError(f'{name} must be a dict keyed by item id, got '
                            f'{type(value).__name__}')
    if not predictions:
        raise ValueError('nothing to score: predictions is empty')
    only_pred = [i for i in predictions if i not in references]
    only_ref = [i for i in references if i not in predictions]
    if only_pred or only_ref:
        raise ValueError(
            'predictions and references must have the same ids: '
            f'{len(only_pred)} id(s) have no reference (e.g. '
            f'{only_pred[:5]}), {len(only_ref)} id(s) have no prediction '
            f'(e.g. {only_ref[:5]})')
    ids = list(predictions)
    refs: Dict[Hashable, List[str]] = {}
    for i in ids:
        if not isinstance(predictions[i], str):
            raise TypeError(f'prediction for id {i!r} must be a str, got '
                            f'{type(predictions[i]).__name__}')
        value = references[i]
        value = [value] if isinstance(value, str) else list(value)
        if not value:
            raise ValueError(f'id {i!r} has no reference report; give at '
                             'least one')
        if not all(isinstance(r, str) for r in value):
            raise TypeError(f'references for id {i!r} must be strings')
        refs[i] = value
    return ids, refs


def _import_scorers():
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.meteor.meteor import Meteor
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError as err:
        raise ImportError('report metrics need pycocoevalcap: '
                          '`pip install pycocoevalcap`') from err
    return dict(Bleu=Bleu, Cider=Cider, Meteor=Meteor, Rouge=Rouge)


def _meteor_text(text: str) -> str:
    # METEOR's stdio protocol is line based and uses '|||' as separator: a
    # newline or '|||' inside a text would desynchronise or hang it.
    return ' '.join(text.replace('|||', ' ').split())


def _meteor(meteor_cls, gts, res):
    """Score with one METEOR subprocess that is always shut down after."""
    gts = {i: [_meteor_text(t) for t in v] for i, v in gts.items()}
    res = {i: [_meteor_text(t) for t in v] for i, v in res.items()}
    try:
        meteor = meteor_cls()
    except OSError as err:
        raise RuntimeError(f'could not start METEOR (Java): {err}') from err
    try:
        return meteor.compute_score(gts, res)
    except (OSError, ValueError) as err:
        detail = _close_meteor(meteor)
        raise RuntimeError('METEOR (Java subprocess) failed: '
                           f'{detail[-2000:] or err}') from err
    finally:
        _close_meteor(meteor)


def _close_meteor(meteor) -> str:
    """Stop a pycocoevalcap ``Meteor`` process; return its stderr text.

    ``Meteor.__del__`` does the same but acquires ``meteor.lock``, which a
    failed ``compute_score`` leaves held (it would block forever), and it
    runs only whenever the object is collected. Safe to call twice.
    """
    proc = meteor.meteor_p
    meteor.lock = threading.Lock()  # __del__ must never block on a stale lock
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        proc.kill()
    proc.wait()
    detail = ''
    if not proc.stderr.closed:
        with contextlib.suppress(OSError, ValueError):
            detail = proc.stderr.read().decode(errors='replace')
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        with contextlib.suppress(OSError):
            stream.close()
    return detail


def _cider(cider_cls, gts, res):
    if len(res) == 1:
        warnings.warn('CIDEr-D on a single item is always 0: its idf comes '
                      'from the references of the evaluated set')
    if not any(ref.split() for refs in gts.values() for ref in refs):
        # pycocoevalcap fails on max() of empty document frequencies.
        return 0.0, [0.0] * len(res)
    return cider_cls().compute_score(gts, res)
