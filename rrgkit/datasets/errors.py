# Copyright (c) rrgkit contributors. All rights reserved.
"""Exceptions raised for bad dataset input.

Every message names the file (and the split, record or key where there is
one) and says what to do. All of them derive from :class:`ValueError`, so
code that already guards against bad values keeps working.
"""
from typing import Sequence

__all__ = [
    'DatasetError', 'AnnotationError', 'MissingImageError', 'ImageDecodeError',
    'EmptyReportError', 'FeatureCacheError', 'format_problems'
]


class DatasetError(ValueError):
    """Base class of every rrgkit dataset error."""


class AnnotationError(DatasetError):
    """The annotation file (or the tag vocabulary) is missing or malformed."""


class MissingImageError(DatasetError):
    """One or more image files the annotation refers to do not exist."""


class ImageDecodeError(DatasetError):
    """An image file exists but cannot be decoded."""


class EmptyReportError(DatasetError):
    """A record has an empty or whitespace-only report."""


class FeatureCacheError(DatasetError):
    """Cached visual features cannot be made or do not fit the model."""


def format_problems(problems: Sequence[str], limit: int = 10) -> str:
    """Join a list of problems into an indented block, at most ``limit``.

    Args:
        problems (Sequence[str]): One line per problem.
        limit (int): How many to show before summarising the rest.
            Defaults to 10.

    Returns:
        str: The lines, each indented, plus ``... and N more`` when cut.
    """
    lines = [f'  - {p}' for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f'  ... and {len(problems) - limit} more')
    return '\n'.join(lines)
