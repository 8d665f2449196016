# Copyright (c) rrgkit contributors. All rights reserved.
"""Annotation-side helpers: splits, fingerprints, and writing tags back.

Tags are *image-level*: the tag file mined from one language's reports
labels every image id, and :func:`add_tags_to_annotation` gives both
language records of an image the same ``tags`` list.
"""
import hashlib
import json
import os
import os.path as osp
from typing import (Dict, Iterable, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from ..errors import AnnotationError, format_problems
from .lexicon import Lexicon
from .miner import (TagVocabulary, TagVocabularyError, load_tag_file,
                    mine_tag_vocabulary, write_json_atomic)
from .negation import normalize_language

__all__ = [
    'file_sha256', 'split_sha256', 'read_annotation', 'resplit_ids',
    'split_image_ids', 'reports_by_id', 'mine_annotation_vocabulary',
    'add_tags_to_annotation'
]

PathLike = Union[str, os.PathLike]


def file_sha256(path: PathLike) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def split_sha256(split_ids: Mapping[str, Iterable[str]]) -> str:
    """Hash of the sorted ids of every split (order-independent).

    Args:
        split_ids (Mapping[str, Iterable[str]]): ``{split: ids}``.

    Returns:
        str: SHA-256 hex of ``{"test": [...], "train": [...], ...}`` as
        compact, key-sorted JSON of the sorted unique ids.
    """
    canon = {str(k): sorted({str(i) for i in v}) for k, v in split_ids.items()}
    text = json.dumps(canon, sort_keys=True, ensure_ascii=False,
                      separators=(',', ':'))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def read_annotation(path: PathLike) -> dict:
    """Read an R2Gen-style annotation, checking its shape.

    Args:
        path (str | PathLike): ``{"train": [records], ...}``; every record an
            object with an ``id``.

    Returns:
        dict: The parsed file, unchanged.

    Raises:
        AnnotationError: If the file is missing, not JSON, or malformed.
    """
    path = str(path)
    if not osp.isfile(path):
        raise AnnotationError(f'Annotation file {path!r} not found.')
    try:
        with open(path, encoding='utf-8-sig') as f:
            ann = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnnotationError(f'Annotation file {path!r} is not valid UTF-8 '
                              f'JSON: {err}.') from None
    if not isinstance(ann, dict) or not ann or not all(
            isinstance(v, list) for v in ann.values()):
        raise AnnotationError(
            f'Annotation file {path!r} must hold a JSON object mapping split '
            'names to lists of records, like {"train": [...], "val": [...], '
            '"test": [...]}.')
    problems = [
        f'split {split!r} record #{i}: ' +
        ('is not an object' if not isinstance(rec, dict) else "no 'id' key")
        for split, recs in ann.items() for i, rec in enumerate(recs)
        if not isinstance(rec, dict) or rec.get('id') is None
    ]
    if problems:
        raise AnnotationError(f'{len(problems)} problem(s) in annotation file '
                              f'{path!r}:\n{format_problems(problems)}')
    return ann


def resplit_ids(ids: Iterable[str],
                seed: int = 0,
                ratios: Sequence[float] = (0.7, 0.1, 0.2)
                ) -> Dict[str, List[str]]:
    """Seeded train/val/test split of ids, as ``ReportDataset(resplit=...)``.

    Args:
        ids (Iterable[str]): Image ids (duplicates are merged).
        seed (int): Random seed. Defaults to 0.
        ratios (Sequence[float]): Train, val, test ratios. Defaults to
            ``(0.7, 0.1, 0.2)``.

    Returns:
        dict[str, list[str]]: ``{"train": ids, "val": ids, "test": ids}``.
    """
    ratios = np.asarray(tuple(ratios), dtype=float)
    if ratios.shape != (3, ) or ratios.min() < 0 or ratios.sum() <= 0:
        raise ValueError(f'ratios must be 3 non-negative numbers, got '
                         f'{tuple(ratios)}.')
    ids = sorted({str(i) for i in ids})
    order = np.random.default_rng(int(seed)).permutation(len(ids))
    ratios = ratios / ratios.sum()
    n_train = int(round(len(ids) * ratios[0]))
    n_val = int(round(len(ids) * ratios[1]))
    cuts = dict(train=(0, n_train), val=(n_train, n_train + n_val),
                test=(n_train + n_val, len(ids)))
    return {s: [ids[j] for j in order[a:b]] for s, (a, b) in cuts.items()}


def split_image_ids(ann: Mapping[str, list],
                    resplit: Optional[dict] = None) -> Dict[str, List[str]]:
    """Unique image ids of each split, in file order (or re-split).

    Args:
        ann (Mapping[str, list]): From :func:`read_annotation`.
        resplit (dict, optional): ``dict(seed=0, ratios=(0.7, 0.1, 0.2))``
            pools all splits and re-splits them by id, exactly as
            :class:`~rrgkit.datasets.ReportDataset` does. Defaults to None.

    Returns:
        dict[str, list[str]]: ``{split: ids}``.
    """
    if resplit is not None:
        all_ids = [str(r['id']) for recs in ann.values() for r in recs]
        return resplit_ids(all_ids, **resplit)
    return {
        split: list(dict.fromkeys(str(r['id']) for r in recs))
        for split, recs in ann.items()
    }


def reports_by_id(ann: Mapping[str, list],
                  language: str,
                  language_key: Optional[str] = 'label1',
                  report_key: str = 'report') -> Dict[str, str]:
    """The report of each image id in one language.

    Records without ``language_key`` (single-language annotations) are
    used whatever ``language`` is; records of another language are skipped.

    Args:
        ann (Mapping[str, list]): From :func:`read_annotation`.
        language (str): e.g. 'english' (the value of ``language_key``).
        language_key (str, optional): Field naming a record's language.
            Defaults to 'label1'.
        report_key (str): Field holding the report. Defaults to 'report'.

    Returns:
        dict[str, str]: ``{id: report}``.

    Raises:
        AnnotationError: If no record is in ``language``, a report is not a
            string, or one id has two different reports in ``language``.
    """
    language = normalize_language(language)
    found, out, problems = set(), {}, []
    for split, recs in ann.items():
        for i, rec in enumerate(recs):
            value = rec.get(language_key) if language_key else None
            if value is not None:
                found.add(value)
                try:
                    if normalize_language(value) != language:
                        continue
                except ValueError:
                    continue
            where = f'split {split!r} record #{i}, id {rec["id"]!r}'
            report = rec.get(report_key, '')
            if not isinstance(report, str):
                problems.append(f'{where}: {report_key!r} is not a string')
                continue
            rid = str(rec['id'])
            if rid in out and out[rid].strip() != report.strip():
                problems.append(f'{where}: a second, different {language} '
                                'report for this id')
            out.setdefault(rid, report)
    if problems:
        raise AnnotationError(f'{len(problems)} problem(s) reading {language} '
                              f'reports:\n{format_problems(problems)}')
    if not out:
        raise AnnotationError(
            f'No {language} record: field {language_key!r} holds '
            f'{sorted(map(str, found))}. Pick the language among these, or '
            'name the field that holds it (language_key).')
    return out


def mine_annotation_vocabulary(
    ann_path: PathLike,
    language: str,
    min_count: int = 3,
    lexicon: Optional[Lexicon] = None,
    resplit: Optional[dict] = None,
    language_key: Optional[str] = 'label1',
    report_key: str = 'report'
) -> Tuple[TagVocabulary, Dict[str, str], Dict[str, List[str]]]:
    """Mine the vocabulary of an annotation's training reports.

    What ``tools/dataset_converters/mine_tags.py`` writes (before labelling
    the images), with the annotation and split fingerprints recorded.

    Args:
        ann_path (str | PathLike): An R2Gen-style annotation.
        language (str): 'english' or 'chinese' (or 'en' / 'zh').
        min_count (int): See :func:`~.miner.mine_tag_vocabulary`.
            Defaults to 3.
        lexicon (Lexicon, optional): Defaults to the default lexicon.
        resplit (dict, optional): ``dict(seed=0, ratios=(0.7, 0.1, 0.2))``
            re-splits the ids (:func:`split_image_ids`). Defaults to None.
        language_key (str, optional): See :func:`reports_by_id`. Defaults
            to 'label1'.
        report_key (str): See :func:`reports_by_id`. Defaults to 'report'.

    Returns:
        tuple: The vocabulary, ``{id: report}`` in ``language`` and
        ``{split: ids}``.

    Raises:
        AnnotationError: A missing or malformed annotation, no record in
            ``language``, or no train split.
    """
    ann = read_annotation(ann_path)
    split_ids = split_image_ids(ann, resplit)
    if 'train' not in split_ids:
        raise TagVocabularyError(
            f'Annotation {str(ann_path)!r} has no "train" split (splits: '
            f'{sorted(split_ids)}); re-split it (mine_tags.py '
            '--resplit-seed).')
    try:
        reports = reports_by_id(ann, language, language_key, report_key)
    except AnnotationError as err:
        raise AnnotationError(
            f'{ann_path}: {err} (check the language, language_key and '
            'report_key; mine_tags.py: --language / --language-key / '
            '--report-key)') from None
    vocab = mine_tag_vocabulary(
        [reports.get(i, '') for i in split_ids['train']], language,
        min_count, lexicon,
        source_ann_sha256=file_sha256(ann_path),
        split_sha256=split_sha256(split_ids),
        split=dict(resplit=None if resplit is None else dict(
            seed=resplit.get('seed', 0),
            ratios=list(resplit.get('ratios', (0.7, 0.1, 0.2))))))
    return vocab, reports, split_ids


def add_tags_to_annotation(ann_path: PathLike,
                           tags_json: PathLike,
                           out_path: PathLike,
                           tags_key: str = 'tags',
                           check_source: bool = True) -> str:
    """Write a copy of an annotation with a tag list in every record.

    The copy reads with ``ReportDataset(ann_file=out_path, tags_key='tags',
    tag_names=tags_json)`` (the tag file's ``"tags"`` list is the ordered
    vocabulary). Every record of an image, in any language, gets that
    image's labels.

    Args:
        ann_path (str | PathLike): The annotation the tags were mined from.
        tags_json (str | PathLike): A file written by ``mine_tags.py``.
        out_path (str | PathLike): Where to write the copy (atomically); it
            must not be ``ann_path``.
        tags_key (str): Record field to write. Defaults to 'tags'.
        check_source (bool): Refuse when the tag file was mined from a
            different annotation file (by SHA-256). Defaults to True.

    Returns:
        str: ``out_path``.
    """
    if osp.abspath(out_path) == osp.abspath(ann_path):
        raise AnnotationError(
            f'out_path {str(out_path)!r} is the annotation itself; write the '
            'tagged copy to another file.')
    ann = read_annotation(ann_path)
    vocab, labels = load_tag_file(tags_json)
    if check_source and vocab.source_ann_sha256 and \
            vocab.source_ann_sha256 != file_sha256(ann_path):
        raise TagVocabularyError(
            f'Tag file {str(tags_json)!r} was mined from a different '
            f'annotation file than {str(ann_path)!r} (SHA-256 differs). Mine '
            'the tags from this annotation, or pass check_source=False.')
    missing = []
    for split, recs in ann.items():
        for i, rec in enumerate(recs):
            rid = str(rec['id'])
            if rid not in labels:
                missing.append(f'split {split!r} record #{i}, id {rid!r}')
                continue
            rec[tags_key] = list(labels[rid])
    if missing:
        raise TagVocabularyError(
            f'Tag file {str(tags_json)!r} has no labels for {len(missing)} '
            f'record(s) of {str(ann_path)!r}:\n{format_problems(missing)}\n'
            'Mine the tags again from this annotation.')
    return write_json_atomic(ann, out_path)
