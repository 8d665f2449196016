# Copyright (c) rrgkit contributors. All rights reserved.
"""Seeded re-split of an annotation file's records by image id.

Used by ``ReportDataset(resplit=...)``. The ids are cut with
:func:`rrgkit.datasets.tags.resplit_ids`, so the tag miner's ``--resplit-*``
options give the same splits.
"""
import json
from typing import Any, List, Sequence, Tuple

from .errors import DatasetError

__all__ = ['SPLITS', 'check_resplit', 'resplit_records']

SPLITS = ('train', 'val', 'test')


def check_resplit(resplit: dict, split: str) -> dict:
    """Check and normalise a ``resplit`` argument.

    Args:
        resplit (dict): ``dict(seed=int, ratios=(train, val, test))``; both
            keys are optional.
        split (str): The split asked for; must be one of :data:`SPLITS`.

    Returns:
        dict: ``dict(seed=int, ratios=tuple)`` with defaults filled in
        (seed 0, ratios ``(0.7, 0.1, 0.2)``).

    Raises:
        DatasetError: On unknown keys, bad ratios or an unknown split.
    """
    resplit = dict(resplit)
    unknown = set(resplit) - {'seed', 'ratios'}
    ratios = tuple(resplit.get('ratios', (0.7, 0.1, 0.2)))
    if unknown or len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0:
        raise DatasetError(
            'resplit must be dict(seed=int, ratios=(train, val, test)) '
            f'with 3 non-negative ratios, got {resplit}.')
    if split not in SPLITS:
        raise DatasetError(f'With resplit, split must be one of {SPLITS}, '
                           f'got {split!r}.')
    return dict(seed=int(resplit.get('seed', 0)), ratios=ratios)


def resplit_records(located: Sequence[Tuple[str, int, Any]], resplit: dict,
                    split: str) -> List[Tuple[str, int, Any]]:
    """Keep the records whose image id falls in ``split`` of a re-split.

    The ids of all records are sorted, shuffled with ``resplit['seed']``
    and cut by ``resplit['ratios']``; all records of an id (e.g. both
    languages of an image) stay together. A record listed in several splits
    of the file is taken once.

    Args:
        located (Sequence[tuple[str, int, Any]]): ``(split, index, record)``
            of every split of the file; records are dicts with an ``id``.
        resplit (dict): The output of :func:`check_resplit`.
        split (str): 'train', 'val' or 'test'.

    Returns:
        list[tuple[str, int, Any]]: The kept items, in input order.
    """
    # Imported here: the tag package is only needed when re-splitting.
    from .tags.annotate import resplit_ids
    ids = [str(rec['id']) for _, _, rec in located]
    keep = set(
        resplit_ids(ids, seed=resplit['seed'],
                    ratios=resplit['ratios'])[split])
    seen, out = set(), []
    for name, i, rec in located:
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if str(rec['id']) in keep and key not in seen:
            seen.add(key)
            out.append((name, i, rec))
    return out
