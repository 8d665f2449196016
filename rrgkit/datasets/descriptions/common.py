# Copyright (c) rrgkit contributors. All rights reserved.
"""Helpers shared by the multi-description datasets."""
from typing import Any, List, Mapping, Optional, Sequence

from mmengine.dataset import BaseDataset

__all__ = ['DescriptionQueries', 'data_field', 'description_metainfo']


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


class DescriptionQueries:
    """Field queries shared by the multi-description datasets (no image is
    read): reports, references, descriptions, conclusions."""

    def get_reports(self) -> List[str]:
        """Return the (chosen annotator's) report of every sample, in order."""
        return data_field(self, 'report')

    def get_references(self) -> List[List[str]]:
        """Return all reference reports of every sample, in order."""
        return data_field(self, 'references')

    def get_descriptions(self) -> List[List[str]]:
        """Return the K descriptions of every sample, in order."""
        return data_field(self, 'descriptions')

    def get_conclusions(self) -> List[str]:
        """Return the conclusion of every sample, in order."""
        return data_field(self, 'conclusion')

    def get_vocab_texts(self) -> List[str]:
        """Texts whose words the model writes: reports, then conclusions.

        A tokenizer built with this dataset as ``corpus`` reads these, so
        the conclusion templates' words are in the vocabulary.
        """
        return self.get_reports() + [c for c in self.get_conclusions() if c]
