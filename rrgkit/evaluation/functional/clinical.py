# Copyright (c) rrgkit contributors. All rights reserved.
"""Clinical efficacy (CE): tags of generated reports against references.

Both the generated and the reference report of an image are labelled with
the tag miner (:func:`rrgkit.datasets.tags.label_report`: lexicon plus
NegEx-style negation, so "no pleural effusion" gives the normal tag ``no
pleural effusion``, never ``pleural effusion``), restricted to a mined
:class:`~rrgkit.datasets.tags.TagVocabulary`. The reference's tags are the
ground truth of a multi-label problem, as the CheXpert-labeler CE scores
of MIMIC-CXR report generation are.

Scores (keys as returned, for ``group`` in ``abnormal`` and ``all``):

- ``<group>/micro_P``, ``micro_R``, ``micro_F1``: true positives, false
  positives and false negatives summed over every (image, tag) pair of the
  group's tags.
- ``<group>/macro_P``, ``macro_R``, ``macro_F1``: the mean over tags of the
  per-tag P, R and F1, over the tags of the group that occur in at least
  one reference *or* one generated report of the evaluated set
  (``<group>/num_tags`` of them); a tag never generated has P = 0, one
  never in a reference R = 0.
- A ratio whose denominator is 0 is 0 (no tag generated: P = 0).

``abnormal`` is the vocabulary's abnormal tags (lesions, findings, their
attributes and locations), ``all`` adds its normal tags ("thorax
symmetrical", "no pleural effusion", ...).

Per-image scores (:func:`ce_item_scores`, for paired tests): P, R and F1 of
one image's tag set; an image with no tag of the group in either report
scores 1 (the generated report agrees), one with tags on one side only 0.

English model output loses its commas (``clean_report_en``), so one clause
can span a whole report and a clause-long negation scope would negate
everything after a "no". Like the COV-CTR conclusion presets, English
scopes are therefore capped at 6 words (:data:`DEFAULT_NEGATION_WINDOW`);
Chinese output keeps its commas.
"""
import os.path as osp
from typing import (Dict, FrozenSet, Hashable, List, Mapping, Optional,
                    Sequence, Tuple, Union)

from rrgkit.datasets.tags import (Lexicon, TagVocabulary,
                                  TagVocabularyError, label_report,
                                  load_tag_file, mine_annotation_vocabulary,
                                  normalize_language)
from .conclusion_presets import CONCLUSION_PRESETS

__all__ = [
    'CE_GROUPS', 'CE_SCORE_KEYS', 'CE_ITEM_KEYS', 'DEFAULT_NEGATION_WINDOW',
    'load_ce_vocabulary', 'resolve_negation_window', 'label_texts',
    'tag_prf', 'ce_scores', 'ce_item_scores', 'compute_ce_scores',
    'compute_ce_scores_per_item', 'compute_ce_scores_with_items'
]

CE_GROUPS = ('abnormal', 'all')
#: Corpus score keys, per group.
CE_SCORE_KEYS = tuple(f'{g}/{avg}_{s}' for g in CE_GROUPS
                      for avg in ('micro', 'macro') for s in ('P', 'R', 'F1'))
#: Per-image score keys.
CE_ITEM_KEYS = tuple(f'{g}/{s}' for g in CE_GROUPS for s in ('P', 'R', 'F1'))
#: Negation scope cap (words; None: clause-long) per language: the one the
#: COV-CTR conclusion presets use on the same model output.
DEFAULT_NEGATION_WINDOW = {
    'english': CONCLUSION_PRESETS['covctr_en']['negation_window'],
    'chinese': CONCLUSION_PRESETS['covctr_zh']['negation_window'],
}

Window = Union[int, None, str]
TagSets = Sequence[FrozenSet[str]]


def load_ce_vocabulary(tags_file: Optional[str] = None,
                       vocabulary: Union[TagVocabulary, Mapping,
                                         None] = None,
                       ann_file: Optional[str] = None,
                       language: Optional[str] = None,
                       min_count: int = 3) -> TagVocabulary:
    """The tag vocabulary CE is scored over.

    In order: ``vocabulary`` when given; the tag file when it exists; else
    the vocabulary mined from the training reports of ``ann_file`` (the
    same one ``mine_tags.py`` would write, so a fresh clone needs no mined
    file).

    Args:
        tags_file (str, optional): A file written by
            ``tools/dataset_converters/mine_tags.py``.
        vocabulary (TagVocabulary | Mapping, optional): A vocabulary or its
            :meth:`~TagVocabulary.to_dict` form.
        ann_file (str, optional): Annotation to mine when ``tags_file`` is
            absent.
        language (str, optional): Checked against the vocabulary; needed
            to mine. Defaults to the vocabulary's.
        min_count (int): Threshold when mining. Defaults to 3.

    Returns:
        TagVocabulary: The vocabulary.

    Raises:
        TagVocabularyError: Nothing to read or mine, or another language.
    """
    if vocabulary is not None:
        vocab = vocabulary if isinstance(vocabulary, TagVocabulary) else \
            TagVocabulary.from_dict(vocabulary, 'vocabulary')
    elif tags_file is not None and osp.isfile(tags_file):
        vocab = load_tag_file(tags_file)[0]
    elif ann_file is not None and osp.isfile(ann_file):
        if not language:
            raise TagVocabularyError(
                f'Tag file {tags_file!r} not found; to mine the vocabulary '
                f'from {ann_file!r} instead, give the reports\' language.')
        vocab = mine_annotation_vocabulary(ann_file, language, min_count)[0]
    else:
        lang = normalize_language(language or 'english')
        raise TagVocabularyError(
            f'No tag vocabulary for ClinicalTagMetric: tag file '
            f'{tags_file!r} and annotation {ann_file!r} not found. Mine the '
            'tag file with `python tools/dataset_converters/mine_tags.py '
            f'ANNOTATION --language {lang} --out {tags_file or "PATH"}`, or '
            "point the metric's data_root (--data-root) at the folder of "
            'the annotation.')
    if language is not None and \
            normalize_language(language) != vocab.language:
        raise TagVocabularyError(
            f'The tag vocabulary is {vocab.language} but the metric scores '
            f'{normalize_language(language)} reports; give a '
            f'{normalize_language(language)} tag file.')
    return vocab


def resolve_negation_window(window: Window,
                            language: str) -> Optional[int]:
    """The negation scope cap for ``language``.

    Args:
        window (int | None | str): 'auto' (:data:`DEFAULT_NEGATION_WINDOW`),
            None (clause-long scopes) or a number of words >= 1.
        language (str): 'english' or 'chinese' (or an alias).

    Returns:
        int, optional: The cap.
    """
    language = normalize_language(language)
    if window == 'auto':
        return DEFAULT_NEGATION_WINDOW[language]
    if window is not None and (isinstance(window, bool)
                               or not isinstance(window, int) or window < 1):
        raise ValueError(f"negation_window must be 'auto', None or an int "
                         f'>= 1, got {window!r}')
    return window


def label_texts(texts: Sequence[str],
                vocab: TagVocabulary,
                negation_window: Window = 'auto',
                lexicon: Optional[Lexicon] = None) -> List[FrozenSet[str]]:
    """The vocabulary's tags found in each text.

    Args:
        texts (Sequence[str]): Reports (generated or reference).
        vocab (TagVocabulary): The vocabulary.
        negation_window (int | None | str): Negation scope cap in words;
            'auto' takes :data:`DEFAULT_NEGATION_WINDOW` of the language.
            Defaults to 'auto'.
        lexicon (Lexicon, optional): The vocabulary's lexicon. Defaults to
            the default lexicon.

    Returns:
        list[frozenset[str]]: Tags per text.
    """
    window = resolve_negation_window(negation_window, vocab.language)
    return [frozenset(label_report(str(t), vocab, lexicon=lexicon,
                                   negation_window=window)) for t in texts]


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _prf(tp: float, fp: float, fn: float) -> Tuple[float, float, float]:
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return p, r, _ratio(2 * p * r, p + r)


def tag_prf(pred: TagSets, gt: TagSets,
            tags: Sequence[str]) -> Dict[str, float]:
    """Micro and macro precision, recall and F1 over ``tags``.

    Args:
        pred (Sequence[frozenset[str]]): Generated tags per image.
        gt (Sequence[frozenset[str]]): Reference tags per image.
        tags (Sequence[str]): The tags scored (others are ignored).

    Returns:
        dict[str, float]: ``micro_P``, ``micro_R``, ``micro_F1``,
        ``macro_P``, ``macro_R``, ``macro_F1`` and ``num_tags`` (tags in
        the macro mean: those occurring in ``pred`` or ``gt``).
    """
    if len(pred) != len(gt):
        raise ValueError(f'{len(pred)} generated and {len(gt)} reference '
                         'tag sets; give one of each per image')
    counts = {t: [0, 0, 0] for t in tags}  # tp, fp, fn
    for p, g in zip(pred, gt):
        for t in counts:
            if t in p or t in g:
                counts[t][0 if t in p and t in g else 1 if t in p else 2] += 1
    micro = _prf(*(sum(c[i] for c in counts.values()) for i in range(3)))
    present = [_prf(*c) for c in counts.values() if any(c)]
    macro = [sum(s[i] for s in present) / len(present) if present else 0.0
             for i in range(3)]
    out = {f'micro_{k}': v for k, v in zip(('P', 'R', 'F1'), micro)}
    out.update({f'macro_{k}': v for k, v in zip(('P', 'R', 'F1'), macro)})
    out['num_tags'] = float(len(present))
    return out


def _groups(vocab: TagVocabulary) -> Dict[str, List[str]]:
    return dict(abnormal=list(vocab.abnormal), all=vocab.tags)


def ce_scores(pred: TagSets, gt: TagSets,
              vocab: TagVocabulary) -> Dict[str, float]:
    """:func:`tag_prf` over the abnormal tags and over all tags.

    Returns:
        dict[str, float]: :data:`CE_SCORE_KEYS` plus
        ``<group>/num_tags``.
    """
    return {f'{group}/{k}': v for group, tags in _groups(vocab).items()
            for k, v in tag_prf(pred, gt, tags).items()}


def ce_item_scores(pred: TagSets, gt: TagSets,
                   vocab: TagVocabulary) -> Dict[str, List[float]]:
    """Per-image P, R and F1 (both tag sets empty: 1), per group.

    Returns:
        dict[str, list[float]]: :data:`CE_ITEM_KEYS` to one score per
        image.
    """
    out: Dict[str, List[float]] = {k: [] for k in CE_ITEM_KEYS}
    for group, tags in _groups(vocab).items():
        keep = set(tags)
        for p, g in zip(pred, gt):
            p, g = p & keep, g & keep
            scores = (1.0, 1.0, 1.0) if not p and not g else _prf(
                len(p & g), len(p - g), len(g - p))
            for name, value in zip(('P', 'R', 'F1'), scores):
                out[f'{group}/{name}'].append(value)
    return out


def compute_ce_scores_with_items(
        predictions: Mapping[Hashable, str],
        references: Mapping[Hashable, Union[str, Sequence[str]]],
        vocab: TagVocabulary,
        *,
        negation_window: Window = 'auto',
        lexicon: Optional[Lexicon] = None
) -> Tuple[Dict[str, float], Dict[str, Dict[Hashable, float]]]:
    """Corpus and per-image CE scores of generated reports.

    Args:
        predictions (Mapping[Hashable, str]): Image id to generated report.
        references (Mapping[Hashable, str | Sequence[str]]): Image id to its
            reference (the first one of a list is used).
        vocab (TagVocabulary): The vocabulary.
        negation_window (int | None | str): See :func:`label_texts`.
        lexicon (Lexicon, optional): See :func:`label_texts`.

    Returns:
        tuple[dict, dict]: ``(scores, {key: {id: score}})``, see
        :func:`ce_scores` and :func:`ce_item_scores`.
    """
    ids = list(predictions)
    missing = [i for i in ids if i not in references]
    if missing or len(references) != len(ids):
        raise ValueError(f'predictions and references must have the same '
                         f'ids ({len(missing)} prediction(s) without a '
                         f'reference, e.g. {missing[:5]})')
    if not ids:
        raise ValueError('nothing to score: predictions is empty')
    refs = [references[i] for i in ids]
    refs = [r if isinstance(r, str) else (list(r) or [''])[0] for r in refs]
    pred = label_texts([predictions[i] for i in ids], vocab, negation_window,
                       lexicon)
    gt = label_texts(refs, vocab, negation_window, lexicon)
    items = {k: dict(zip(ids, v))
             for k, v in ce_item_scores(pred, gt, vocab).items()}
    return ce_scores(pred, gt, vocab), items


def compute_ce_scores(predictions: Mapping[Hashable, str],
                      references: Mapping[Hashable, Union[str,
                                                          Sequence[str]]],
                      vocab: TagVocabulary, **kwargs) -> Dict[str, float]:
    """Corpus CE scores; see :func:`compute_ce_scores_with_items`."""
    return compute_ce_scores_with_items(predictions, references, vocab,
                                        **kwargs)[0]


def compute_ce_scores_per_item(
        predictions: Mapping[Hashable, str],
        references: Mapping[Hashable, Union[str, Sequence[str]]],
        vocab: TagVocabulary, **kwargs) -> Dict[str, Dict[Hashable, float]]:
    """Per-image CE scores (e.g. for paired randomization tests).

    See :func:`compute_ce_scores_with_items`.

    Returns:
        dict[str, dict[Hashable, float]]: :data:`CE_ITEM_KEYS` to
        ``{image id: score}``.
    """
    return compute_ce_scores_with_items(predictions, references, vocab,
                                        **kwargs)[1]
