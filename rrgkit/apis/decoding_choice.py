# Copyright (c) rrgkit contributors. All rights reserved.
"""Choose decoding settings for a trained checkpoint on the val split.

``tools/analysis/choose_decoding.py`` scores a checkpoint on val once per
combination of a grid of ``--cfg-options`` values (e.g.
``model.decode_cfg.no_repeat_ngram_size=0,2,3``) and keeps the one with the
best metric; ``tools/benchmark.py`` (a method's ``decode_grid``) then tests
with it, so decoding is chosen on val and the test split is scored once.
"""
import itertools
from typing import Callable, Dict, List, Sequence, Tuple

__all__ = ['parse_grid', 'grid_options', 'choose_best']


def parse_grid(items: Sequence[str]) -> List[Tuple[str, List[str]]]:
    """``['key=a,b', ...]`` -> ``[('key', ['a', 'b']), ...]``.

    Raises:
        ValueError: An item without ``=`` or without values, or a key
            given twice.
    """
    grid, seen = [], set()
    for item in items:
        key, sep, values = item.partition('=')
        choices = [v.strip() for v in values.split(',') if v.strip()]
        if not sep or not key or not choices:
            raise ValueError(f'--grid {item!r}: expected key=value1,value2,'
                             '... (e.g. model.decode_cfg.'
                             'no_repeat_ngram_size=0,2,3).')
        if key in seen:
            raise ValueError(f'--grid names {key!r} twice; give its values '
                             'once, comma-separated.')
        seen.add(key)
        grid.append((key, choices))
    return grid


def grid_options(grid: Sequence[Tuple[str, List[str]]]) -> List[List[str]]:
    """Every combination as a list of ``key=value`` options, in grid
    order (the first value of every key first)."""
    keys = [key for key, _ in grid]
    return [[f'{k}={v}' for k, v in zip(keys, values)]
            for values in itertools.product(*(vals for _, vals in grid))]


def choose_best(trials: Sequence[List[str]],
                score: Callable[[List[str]], float]) -> Dict:
    """Score every trial and keep the best (the first of equals).

    Args:
        trials (Sequence[list[str]]): Option lists (:func:`grid_options`).
        score (Callable): Options -> the val metric (higher is better).

    Returns:
        dict: ``options`` (the chosen list), ``score`` and ``trials`` (each
        with its options and score).
    """
    results = []
    for options in trials:
        results.append(dict(options=list(options),
                            score=float(score(list(options)))))
    best = max(range(len(results)), key=lambda i: (results[i]['score'], -i))
    return dict(options=results[best]['options'],
                score=results[best]['score'], trials=results)
