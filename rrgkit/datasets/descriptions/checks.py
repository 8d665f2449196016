# Copyright (c) rrgkit contributors. All rights reserved.
"""Checks of multi-description (BCIDR-like) annotation records.

A record's ``descriptions`` is either a dict ``{name: texts}`` or a list of
K ``texts`` in the order of the description names, where ``texts`` is one
string (one annotator) or a list with one string per annotator. All names
of a record must have the same number of annotators. Every problem of a
split is collected before raising, like :mod:`..annotation_checks`.
"""
from typing import Any, List, Optional, Sequence, Tuple

from ..annotation_checks import Located, record_location, value_problems
from ..errors import AnnotationError, format_problems

__all__ = [
    'infer_description_names', 'annotator_texts',
    'validate_description_records'
]


def infer_description_names(located: Sequence[Located],
                            key: str) -> Optional[Tuple[str, ...]]:
    """Description names from the first record with a dict or list.

    Args:
        located (Sequence[tuple[str, int, Any]]): ``(split, index, record)``.
        key (str): Field holding the descriptions.

    Returns:
        tuple[str, ...] | None: The dict keys in file order, or
        ``description_0..K-1`` for a list; None if no record has either.
    """
    for _, _, rec in located:
        value = rec.get(key) if isinstance(rec, dict) else None
        if isinstance(value, dict) and value:
            return tuple(str(k) for k in value)
        if isinstance(value, list) and value:
            return tuple(f'description_{i}' for i in range(len(value)))
    return None


def _texts(value: Any) -> Optional[List[str]]:
    """One description's texts (one per annotator), or None if malformed."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(
            isinstance(v, str) for v in value):
        return list(value)
    return None


def annotator_texts(rec: dict, key: str,
                    names: Sequence[str]) -> List[List[str]]:
    """Return ``[annotator][k]`` description texts of a valid record.

    Args:
        rec (dict): A record that passed :func:`validate_description_records`.
        key (str): Field holding the descriptions.
        names (Sequence[str]): The K description names.

    Returns:
        list[list[str]]: One list of K stripped texts per annotator.
    """
    value = rec[key]
    per_name = [_texts(value[n]) for n in names] if isinstance(value, dict) \
        else [_texts(v) for v in value]
    count = len(per_name[0])
    return [[texts[a].strip() for texts in per_name] for a in range(count)]


def _description_problems(value: Any, key: str,
                          names: Sequence[str]) -> Tuple[List[str], int]:
    """Problems of one ``descriptions`` value, and its annotator count."""
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        unknown = [n for n in value if n not in names]
        problems = []
        if missing:
            problems.append(f'key {key!r} lacks description(s) {missing}')
        if unknown:
            problems.append(f'key {key!r} has description(s) {unknown} that '
                            f'are not in description_names {list(names)}')
        items = [(n, value[n]) for n in names if n in value]
    elif isinstance(value, list):
        if len(value) != len(names):
            return [f'key {key!r} has {len(value)} texts, expected K='
                    f'{len(names)} (description_names {list(names)})'], 0
        problems, items = [], list(zip(names, value))
    else:
        return [f'key {key!r} must be a dict {{name: texts}} or a list of '
                f'K texts, got {value!r:.60}'], 0
    counts = {}
    for name, texts in items:
        parsed = _texts(texts)
        if parsed is None:
            problems.append(f'description {name!r} must be a string or a '
                            f'non-empty list of strings, got {texts!r:.60}')
        else:
            counts[name] = len(parsed)
    if len(set(counts.values())) > 1:
        problems.append('descriptions have different numbers of annotators '
                        f'per name: {counts}')
    count = next(iter(counts.values()), 0) if not problems else 0
    return problems, count


def _record_problems(rec: dict, key: str, names: Sequence[str],
                     conclusion_key: Optional[str], label_key: Optional[str],
                     num_classes: Optional[int],
                     annotator: Any) -> List[str]:
    problems = []
    for field, types, desc in (('id', (str, int), 'a string'),
                               ('image_path', (str, list),
                                'a path or a list of paths')):
        if field not in rec:
            problems.append(f'missing key {field!r}')
        elif not isinstance(rec[field], types) or isinstance(
                rec[field], bool):
            problems.append(f'key {field!r} must be {desc}, got '
                            f'{rec[field]!r:.60}')
    problems += value_problems(rec, set())
    count = 0
    if key not in rec:
        problems.append(f'missing key {key!r}')
    else:
        found, count = _description_problems(rec[key], key, names)
        problems += found
    if count:
        for a, texts in enumerate(annotator_texts(rec, key, names)):
            if not any(texts):
                problems.append(f'annotator #{a} has only empty descriptions')
        if isinstance(annotator, int) and annotator >= count:
            problems.append(f'has {count} annotator(s), so annotator='
                            f'{annotator} does not exist')
    conclusion = rec.get(conclusion_key) if conclusion_key else None
    if conclusion is not None:
        if isinstance(conclusion, list):
            if not all(isinstance(c, str) for c in conclusion) or (
                    count and len(conclusion) != count):
                problems.append(f'key {conclusion_key!r} must be a string or '
                                f'a list of {count or "N"} strings (one per '
                                f'annotator), got {conclusion!r:.60}')
        elif not isinstance(conclusion, str):
            problems.append(f'key {conclusion_key!r} must be a string or a '
                            f'list of strings, got {conclusion!r:.60}')
    if label_key:
        label = rec.get(label_key)
        if label_key not in rec:
            problems.append(f'missing key {label_key!r}')
        elif not isinstance(label, int) or isinstance(label, bool):
            problems.append(f'key {label_key!r} must be an integer class '
                            f'index, got {label!r:.60}')
        elif num_classes is not None and not 0 <= label < num_classes:
            problems.append(f'key {label_key!r} is {label}, outside the '
                            f'{num_classes} conclusion_classes')
    return problems


def validate_description_records(located: Sequence[Located],
                                 ann_file: str,
                                 key: str,
                                 names: Sequence[str],
                                 conclusion_key: Optional[str] = None,
                                 label_key: Optional[str] = None,
                                 num_classes: Optional[int] = None,
                                 annotator: Any = 0) -> None:
    """Collect every malformed record, then raise once.

    Args:
        located (Sequence[tuple[str, int, Any]]): ``(split, index, record)``.
        ann_file (str): The annotation file, named in the message.
        key (str): Field holding the descriptions.
        names (Sequence[str]): The K description names.
        conclusion_key (str, optional): Field holding the conclusion (a
            string, or one per annotator). Defaults to None.
        label_key (str, optional): Field with an int class; required in
            every record when given. Defaults to None.
        num_classes (int, optional): Labels must be in ``[0, num_classes)``.
            Defaults to None.
        annotator (int | str): The annotator index asked for, or 'each'.
            Defaults to 0.

    Raises:
        AnnotationError: Listing every problem with its record and key.
    """
    problems = []
    for split, i, rec in located:
        where = record_location(split, i, rec)
        if not isinstance(rec, dict):
            problems.append(f'{where}: is {type(rec).__name__}, not an '
                            'object')
            continue
        problems += [
            f'{where}: {p}'
            for p in _record_problems(rec, key, names, conclusion_key,
                                      label_key, num_classes, annotator)
        ]
    if problems:
        raise AnnotationError(
            f'{len(problems)} problem(s) in multi-description annotation '
            f'file {ann_file!r}:\n{format_problems(problems)}\nEach record '
            f'needs "id", "image_path" and "{key}": {{name: [one text per '
            f'annotator]}} with the names {list(names)} (or a list of '
            f'{len(names)} texts in that order); set description_names if '
            'they differ, and label_key=None if the file has no labels.')
