# Copyright (c) rrgkit contributors. All rights reserved.
"""Helpers shared by the multi-description datasets."""
from typing import Any, List, Mapping, Optional, Sequence

from mmengine.dataset import BaseDataset

__all__ = ['data_field', 'description_metainfo']


def data_field(dataset: BaseDataset, key: str) -> List[Any]:
    """Return ``key`` of every data info, in order, without loading images.

    Args:
        dataset (BaseDataset): The dataset (initialised on demand).
        key (str): A data info key, e.g. 'report' or 'references'.

    Returns:
        list: One value per sample.
    """
    if not dataset._fully_initialized:
        dataset.full_init()
    return [dataset.get_data_info(i)[key] for i in range(len(dataset))]


def description_metainfo(
        names: Sequence[str],
        classes: Optional[Sequence[str]] = None,
        templates: Optional[Mapping[int, str]] = None) -> dict:
    """The metainfo keys every multi-description dataset sets.

    Args:
        names (Sequence[str]): The K description names.
        classes (Sequence[str], optional): Conclusion class names by label.
            Defaults to None (not set).
        templates (Mapping[int, str], optional): Conclusion text by label.
            Defaults to None (not set).

    Returns:
        dict: ``description_names`` and, when given, ``conclusion_classes``
        and ``conclusion_templates``.
    """
    meta = dict(description_names=tuple(names))
    if classes is not None:
        meta['conclusion_classes'] = tuple(classes)
    if templates is not None:
        meta['conclusion_templates'] = dict(templates)
    return meta
