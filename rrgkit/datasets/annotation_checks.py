# Copyright (c) rrgkit contributors. All rights reserved.
"""Checks of R2Gen-style annotation files, shared by the report datasets.

Every check collects all the problems of one kind before raising, so a
broken file is fixed in one pass (see :mod:`rrgkit.datasets.errors`).
Records travel as ``(split, index, record)`` tuples so that messages can
say where each one is.
"""
import json
import os.path as osp
from collections import defaultdict
from typing import (Any, Dict, Iterable, List, Optional, Sequence, Tuple,
                    Union)

from .errors import AnnotationError, MissingImageError, format_problems

__all__ = [
    'read_json', 'load_tag_names', 'record_location', 'validate_records',
    'record_problems', 'value_problems', 'id_problems', 'check_ids',
    'check_images'
]

#: ``(split name, index in that split, record)``.
Located = Tuple[str, int, Any]


def read_json(path: str, what: str) -> Any:
    """Read a UTF-8 JSON file, turning every failure into AnnotationError.

    Args:
        path (str): The file.
        what (str): What the file is, capitalised, for messages (e.g.
            'Annotation file').

    Returns:
        Any: The parsed JSON.

    Raises:
        AnnotationError: If the file is missing, not UTF-8 or not JSON.
    """
    if not osp.isfile(path):
        raise AnnotationError(
            f'{what} not found: {path!r}. Check `data_root` and the file '
            'name (relative paths are joined to `data_root`).')
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode('utf-8-sig')
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b'\n') + 1
        raise AnnotationError(
            f'{what} {path!r} is not UTF-8 text (bad byte at line {line}, '
            f'byte offset {e.start}). Re-save it as UTF-8.') from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationError(
            f'{what} {path!r} is not valid JSON: {e.msg} at line {e.lineno}, '
            f'column {e.colno}. Fix the file (e.g. check it with '
            '`python -m json.tool`).') from None


def load_tag_names(tag_names: Union[str, Sequence[str]],
                   root: str = '') -> List[str]:
    """Return the tag vocabulary from a list or a JSON file.

    Args:
        tag_names (str | Sequence[str]): The tags, or a path to a JSON file
            holding a list of tags or ``{"tags": [...]}``.
        root (str): Folder a relative path is joined to. Defaults to ''.

    Returns:
        list[str]: The tags, in order.
    """
    source = 'tag_names'
    if isinstance(tag_names, str):
        path = tag_names if osp.isabs(tag_names) else osp.join(root, tag_names)
        source = f'tag file {path!r}'
        tag_names = read_json(path, 'Tag file')
        if isinstance(tag_names, dict):
            if 'tags' not in tag_names:
                raise AnnotationError(
                    f'{source} is a JSON object without a "tags" key (keys: '
                    f'{sorted(tag_names)}). Store a list, or '
                    '{"tags": [...]}.')
            tag_names = tag_names['tags']
    if (not isinstance(tag_names, (list, tuple))
            or not all(isinstance(t, str) for t in tag_names)):
        raise AnnotationError(
            f'{source} must be a list of strings, got {type(tag_names)}.')
    dups = sorted({t for t in tag_names if list(tag_names).count(t) > 1})
    if dups:
        raise AnnotationError(f'{source} lists tags more than once: {dups}.')
    return list(tag_names)


def record_location(split: str, index: int, rec: Any) -> str:
    """Where a record is, for messages.

    Args:
        split (str): Split name.
        index (int): Index of the record in that split.
        rec (Any): The record (its ``id`` is named when it has one).

    Returns:
        str: E.g. ``"split 'train' record #3, id 'a1'"``.
    """
    rid = rec.get('id') if isinstance(rec, dict) else None
    rid = f', id {rid!r}' if rid is not None else ''
    return f'split {split!r} record #{index}{rid}'


def validate_records(located: Sequence[Located], ann_file: str,
                     report_key: str, **kwargs) -> None:
    """Collect every malformed record, then raise once.

    Args:
        located (Sequence[tuple[str, int, Any]]): ``(split, index, record)``.
        ann_file (str): The annotation file, named in the message.
        report_key (str): Field holding the report.
        **kwargs: The optional keys of :func:`record_problems`.

    Raises:
        AnnotationError: Listing every problem found.
    """
    problems = record_problems(located, report_key, **kwargs)
    if problems:
        raise AnnotationError(
            f'{len(problems)} problem(s) in annotation file '
            f'{ann_file!r}:\n{format_problems(problems)}\n'
            'Fix these records (or the key names passed to '
            'ReportDataset).')


def record_problems(located: Sequence[Located],
                    report_key: str,
                    label_key: Optional[str] = None,
                    tags_key: Optional[str] = None,
                    boxes_key: Optional[str] = None,
                    language: Optional[str] = None,
                    language_key: str = 'label1',
                    tag_names: Optional[Sequence[str]] = None) -> List[str]:
    """Every malformed record: a missing key, a wrong type or bad value.

    Args:
        located (Sequence[tuple[str, int, Any]]): ``(split, index, record)``.
        report_key (str): Field holding the report.
        label_key (str, optional): Field with an int class. Defaults to None.
        tags_key (str, optional): Field with a list of tag names. Defaults
            to None.
        boxes_key (str, optional): Field with ``[[x1, y1, x2, y2], ...]``.
            Defaults to None.
        language (str, optional): When set, ``language_key`` must be a
            string. Defaults to None.
        language_key (str): Field holding the language. Defaults to
            'label1'.
        tag_names (Sequence[str], optional): Allowed tags of ``tags_key``.
            Defaults to None (no tag allowed).

    Returns:
        list[str]: One line per problem, starting with where it is.
    """
    checks = [('id', (str, int), 'a string'),
              ('image_path', (str, list), 'a path or a list of paths'),
              (report_key, str, 'a string')]
    if label_key:
        checks.append((label_key, int, 'an integer class index'))
    if tags_key:
        checks.append((tags_key, list, 'a list of tag names'))
    if boxes_key:
        checks.append((boxes_key, list, 'a list of [x1, y1, x2, y2]'))
    if language is not None:
        checks.append((language_key, str, 'a string'))
    tags = set(tag_names or ())
    problems = []
    for split, i, rec in located:
        where = record_location(split, i, rec)
        if not isinstance(rec, dict):
            problems.append(f'{where}: is {type(rec).__name__}, not an '
                            'object')
            continue
        for key, types, desc in checks:
            value = rec.get(key)
            if key not in rec:
                problems.append(f'{where}: missing key {key!r}')
            elif not isinstance(value, types) or isinstance(value, bool):
                problems.append(f'{where}: key {key!r} must be {desc}, '
                                f'got {value!r:.60}')
        problems += [
            f'{where}: ' + p
            for p in value_problems(rec, tags, tags_key, boxes_key)
        ]
    return problems


def value_problems(rec: dict,
                   tags: set,
                   tags_key: Optional[str] = None,
                   boxes_key: Optional[str] = None) -> List[str]:
    """Problems inside values whose type is already right.

    Args:
        rec (dict): One record.
        tags (set): Allowed tags of ``tags_key``.
        tags_key (str, optional): Field with a list of tag names. Defaults
            to None.
        boxes_key (str, optional): Field with ``[[x1, y1, x2, y2], ...]``.
            Defaults to None.

    Returns:
        list[str]: One message per problem (without the record location).
    """
    problems = []
    paths = rec.get('image_path')
    if isinstance(paths, list) and (
            not paths or not all(isinstance(p, str) and p for p in paths)):
        problems.append("key 'image_path' must be a non-empty list of "
                        'non-empty strings')
    elif isinstance(paths, str) and not paths:
        problems.append("key 'image_path' is empty")
    tag_list = rec.get(tags_key) if tags_key else None
    if isinstance(tag_list, list):
        unknown = [t for t in tag_list if t not in tags]
        if unknown:
            problems.append(
                f'key {tags_key!r} has tag(s) not in tag_names: '
                f'{unknown}; add them to the tag vocabulary or fix the '
                'record')
    boxes = rec.get(boxes_key) if boxes_key else None
    if isinstance(boxes, list):
        ok = all(
            isinstance(b, list) and len(b) == 4 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                for v in b) for b in boxes)
        if not ok:
            problems.append(f'key {boxes_key!r} must be a list of '
                            '[x1, y1, x2, y2] numbers')
        elif boxes and isinstance(paths, list) and len(paths) > 1:
            problems.append(f'key {boxes_key!r}: boxes are only '
                            'supported for single-image records')
    return problems


def check_images(data_list: Sequence[dict], split: str, ann_file: str,
                 img_dir: str) -> None:
    """Raise if any ``img_path`` of the converted records is not a file.

    Args:
        data_list (Sequence[dict]): Records with ``img_path`` (a path or a
            list of paths).
        split (str): Split name, for the message.
        ann_file (str): The annotation file, for the message.
        img_dir (str): The image folder, for the message.

    Raises:
        MissingImageError: Naming the first five missing files.
    """
    missing = []
    for info in data_list:
        paths = info['img_path']
        for path in [paths] if isinstance(paths, str) else paths:
            if not osp.isfile(path):
                missing.append(path)
    missing = list(dict.fromkeys(missing))  # unique, in order
    if missing:
        shown = '\n'.join(f'  - {p}' for p in missing[:5])
        more = f'\n  ... and {len(missing) - 5} more' \
            if len(missing) > 5 else ''
        raise MissingImageError(
            f'{len(missing)} image file(s) of split {split!r} '
            f'(annotation {ann_file!r}) are missing from folder '
            f'{img_dir!r}:\n'
            f'{shown}{more}\nCheck `data_root` / `data_prefix`, restore '
            'the files, or pass check_files=False to find out at '
            'loading time instead.')


def id_problems(located: Sequence[Located],
                others: Iterable[Located] = (),
                language_key: str = 'label1') -> Tuple[List[str], List[str]]:
    """Duplicate ids within a split, and ids shared with other splits.

    Two records of one split with the same ``id`` (and the same
    ``language_key`` value, so COV-CTR's English and Chinese record of an
    image are not duplicates) are a duplicate. An id of ``located`` that
    also occurs in ``others`` (records of other splits) leaks between
    splits.

    Args:
        located (Sequence[tuple[str, int, Any]]): Records to check.
        others (Iterable[tuple[str, int, Any]]): Records of other splits.
            Defaults to ().
        language_key (str): Field holding the language. Defaults to 'label1'.

    Returns:
        tuple[list[str], list[str]]: Duplicate and cross-split problems.
    """
    groups: Dict[tuple, List[int]] = defaultdict(list)
    splits_of: Dict[str, set] = defaultdict(set)
    for split, i, rec in located:
        if isinstance(rec, dict) and isinstance(rec.get('id'), (str, int)):
            rid = str(rec['id'])
            groups[(split, rid, rec.get(language_key))].append(i)
            splits_of[rid].add(split)
    duplicates = []
    for (split, rid, lang), indices in groups.items():
        if len(indices) > 1:
            same = f' (all {language_key}={lang!r})' if lang else ''
            duplicates.append(
                f'split {split!r}: id {rid!r} is used by {len(indices)} '
                f'records (#{", #".join(map(str, indices))}){same}')
    for split, _, rec in others:
        if isinstance(rec, dict) and str(rec.get('id')) in splits_of:
            splits_of[str(rec['id'])].add(split)
    leaks = [
        f'id {rid!r} is in splits {sorted(splits)} (a study must be in '
        'one split only)' for rid, splits in splits_of.items()
        if len(splits) > 1
    ]
    return duplicates, leaks


def check_ids(located: Sequence[Located], others: Iterable[Located],
              ann_file: str, language_key: str = 'label1') -> None:
    """Raise if ids are duplicated or shared between splits.

    Args:
        located (Sequence[tuple[str, int, Any]]): Records of the split.
        others (Iterable[tuple[str, int, Any]]): Records of other splits.
        ann_file (str): The annotation file, for the message.
        language_key (str): Field holding the language. Defaults to 'label1'.

    Raises:
        AnnotationError: Listing every duplicate and shared id.
    """
    duplicates, leaks = id_problems(located, others, language_key)
    problems = duplicates + leaks
    if problems:
        raise AnnotationError(
            f'{len(problems)} id problem(s) in annotation file '
            f'{ann_file!r}:\n{format_problems(problems)}\n'
            'Give each record its own id and keep each id in one split (or '
            're-split by id with resplit=dict(seed=0)); check_ids=False '
            'loads the file anyway.')
