# Copyright (c) rrgkit contributors. All rights reserved.
"""BCIDR-like multi-description annotation files.

MDNet's BCIDR data gives every image several reports, one per annotator,
each made of K descriptions (one per finding type) and a conclusion. The
file form read here keeps R2Gen's split layout::

    {"meta": {"description_names": ["nuclear_feature", ...],   # optional
              "conclusion_classes": ["low grade", "high grade"]},
     "train": [
       {"id": "img1", "image_path": "img1.png",
        "descriptions": {"nuclear_feature": ["text of annotator 1", ...],
                         ...},
        "conclusion": ["low grade", ...],  # optional: str or per annotator
        "label": 0},                       # unless label_key=None
       ...],
     "val": [...], "test": [...]}

``descriptions`` may also be a list of K texts in the order of
``description_names`` (each a string, or one string per annotator). An
image's references are the joined descriptions of each annotator.
"""
import os.path as osp
from typing import Callable, List, Mapping, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from rrgkit.registry import DATASETS, TRANSFORMS
from ..annotation_checks import check_images, read_json, record_location
from ..errors import AnnotationError, DatasetError, format_problems
from ..resplit import check_resplit, resplit_records
from .checks import (annotator_texts, infer_description_names,
                     validate_description_records)
from .common import DescriptionQueries, description_metainfo
from .splitter import join_descriptions

__all__ = ['MultiDescriptionDataset']


def _from_meta(meta: dict, key: str, given, ann_file: str):
    """A meta value of the file, checked against the argument given."""
    found = meta.get(key)
    if found is None:
        return None if given is None else tuple(given)
    if not isinstance(found, list) or not all(
            isinstance(v, str) for v in found):
        raise AnnotationError(f'"meta" -> {key!r} of {ann_file!r} must be a '
                              f'list of strings, got {found!r:.80}.')
    if given is not None and tuple(given) != tuple(found):
        raise AnnotationError(
            f'{key}={list(given)} disagrees with "meta" -> {key!r} '
            f'{found} of {ann_file!r}. Drop the argument or fix the file.')
    return tuple(found)


@DATASETS.register_module()
class MultiDescriptionDataset(DescriptionQueries, BaseDataset):
    """Images with K descriptions, a conclusion and several references.

    Each data info holds ``img_id``, ``img_path`` (absolute; a list for
    multi-view records), ``descriptions`` (K texts of the chosen annotator,
    in the order of ``metainfo['description_names']``, '' where empty),
    ``conclusion`` (str; from the record, else ``conclusion_templates``
    [label], else ''), ``report`` (the chosen annotator's joined
    descriptions), ``references`` (every annotator's joined descriptions),
    ``annotator`` (int) and, with ``label_key``, ``gt_label`` (int).

    Args:
        ann_file (str): The annotation JSON (see the module docstring),
            relative to ``data_root`` unless absolute.
        data_root (str): Root folder of the data. Defaults to ''.
        data_prefix (dict, optional): ``img_path``: the image folder.
            Defaults to ``dict(img_path='images')``.
        split (str): Which split to read. Defaults to 'train'.
        description_names (Sequence[str], optional): The K names. Defaults
            to None: the file's ``meta``, else the first record's keys
            (``description_0``... for lists), set in ``metainfo`` once the
            file is read.
        descriptions_key (str): Defaults to 'descriptions'.
        conclusion_key (str, optional): Defaults to 'conclusion'.
        label_key (str, optional): Field with the conclusion class (int,
            required in every record). None for files without labels.
            Defaults to 'label'.
        conclusion_classes (Sequence[str], optional): Class names by label.
            Defaults to None (the file's ``meta``, if any).
        conclusion_templates (Mapping[int, str], optional): Conclusion text
            by label, for records without a conclusion. Defaults to None.
        language (str): 'en' or 'zh': how references are joined (see
            :func:`join_descriptions`). Defaults to 'en'.
        annotator (int | str): Whose descriptions are the targets: an index,
            or 'each' for one sample per annotator (training). Defaults to 0.
        resplit (dict, optional): As in :class:`ReportDataset`. Defaults to
            None.
        check_files (bool): Check that the images exist. Defaults to True.
        pipeline (Sequence[dict | Callable]): Transforms. Defaults to ().
        metainfo (dict, optional): Extra meta information. Defaults to None.
        test_mode (bool): Defaults to False.
        lazy_init (bool): Defer reading the annotation. Defaults to False.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 split: str = 'train',
                 description_names: Optional[Sequence[str]] = None,
                 descriptions_key: str = 'descriptions',
                 conclusion_key: Optional[str] = 'conclusion',
                 label_key: Optional[str] = 'label',
                 conclusion_classes: Optional[Sequence[str]] = None,
                 conclusion_templates: Optional[Mapping[int, str]] = None,
                 language: str = 'en',
                 annotator: Union[int, str] = 0,
                 resplit: Optional[dict] = None,
                 check_files: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        if annotator != 'each' and (not isinstance(annotator, int)
                                    or isinstance(annotator, bool)
                                    or annotator < 0):
            raise DatasetError("annotator must be an index >= 0 or 'each', "
                               f'got {annotator!r}.')
        if conclusion_templates and not label_key:
            raise DatasetError('conclusion_templates need labels: set '
                               'label_key (the field with the class index).')
        data_prefix = dict(img_path='images') if data_prefix is None \
            else dict(data_prefix)
        if 'img_path' not in data_prefix:
            raise DatasetError('data_prefix needs an "img_path" entry (the '
                               f'image folder), got {data_prefix}.')
        self.split = split
        self.resplit = None if resplit is None else check_resplit(
            resplit, split)
        self.description_names = None if description_names is None \
            else tuple(description_names)
        self.descriptions_key = descriptions_key
        self.conclusion_key = conclusion_key
        self.label_key = label_key
        self.conclusion_classes = None if conclusion_classes is None \
            else tuple(conclusion_classes)
        self.conclusion_templates = None if conclusion_templates is None \
            else {int(k): str(v) for k, v in conclusion_templates.items()}
        join_descriptions([], language)  # checks the language
        self.language = language
        self.annotator = annotator
        self.check_files = check_files
        pipeline = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline
        ]
        super().__init__(ann_file=ann_file,
                         metainfo=metainfo,
                         data_root=data_root,
                         data_prefix=data_prefix,
                         pipeline=pipeline,
                         test_mode=test_mode,
                         lazy_init=lazy_init,
                         **kwargs)
        self._update_metainfo()

    def _update_metainfo(self) -> None:
        self._metainfo.update(split=self.split)
        if self.description_names is not None:
            self._metainfo.update(
                description_metainfo(self.description_names,
                                     self.conclusion_classes,
                                     self.conclusion_templates))

    # ------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Read, validate and convert the records of ``self.split``."""
        ann = read_json(self.ann_file, 'Annotation file')
        meta = ann.pop('meta', {}) if isinstance(ann, dict) else None
        if not isinstance(ann, dict) or not isinstance(meta, dict) or not all(
                isinstance(v, list) for v in ann.values()):
            raise AnnotationError(
                f'Annotation file {self.ann_file!r} must hold a JSON object '
                'mapping split names to lists of records (plus an optional '
                '"meta" object), like {"train": [...], "val": [...], '
                '"test": [...]}.')
        if self.resplit is None and self.split not in ann:
            raise AnnotationError(
                f'Split {self.split!r} is not in annotation file '
                f'{self.ann_file!r}; available splits: {sorted(ann)}. Pass '
                'one of them as `split`, or use `resplit`.')
        splits = list(ann) if self.resplit is not None else [self.split]
        located = [(s, i, rec) for s in splits for i, rec in enumerate(ann[s])]
        names = _from_meta(meta, 'description_names', self.description_names,
                           self.ann_file)
        names = names or infer_description_names(located,
                                                 self.descriptions_key)
        if not names:
            raise AnnotationError(
                f'No record of {self.ann_file!r} has a non-empty '
                f'{self.descriptions_key!r} dict or list, and no '
                'description_names were given; see MultiDescriptionDataset '
                'for the format.')
        self.description_names = names
        self.conclusion_classes = _from_meta(meta, 'conclusion_classes',
                                             self.conclusion_classes,
                                             self.ann_file)
        validate_description_records(
            located,
            self.ann_file,
            self.descriptions_key,
            names,
            conclusion_key=self.conclusion_key,
            label_key=self.label_key,
            num_classes=None if self.conclusion_classes is None else len(
                self.conclusion_classes),
            annotator=self.annotator)
        self._check_templates(located)
        if self.resplit is not None:
            located = resplit_records(located, self.resplit, self.split)
        self._update_metainfo()
        data_list = []
        for _, _, rec in located:
            data_list += self._convert(rec)
        if self.check_files:
            check_images(data_list, self.split, self.ann_file,
                         osp.abspath(self.data_prefix['img_path']))
        return data_list

    def _check_templates(self, located: list) -> None:
        """Every record without a conclusion needs a template for its label."""
        if not self.conclusion_templates:
            return
        missing = []
        for split, i, rec in located:
            text = rec.get(self.conclusion_key) if self.conclusion_key \
                else None
            texts = text if isinstance(text, list) else [text]
            label = rec[self.label_key]
            if any(not (t or '').strip() for t in texts) and \
                    label not in self.conclusion_templates:
                missing.append(f'{record_location(split, i, rec)}: label '
                               f'{label!r} has no conclusion template')
        if missing:
            raise AnnotationError(
                f'{len(missing)} record(s) of {self.ann_file!r} have no '
                'conclusion and a label without a conclusion template '
                f'(templates for {sorted(self.conclusion_templates)}):\n'
                f'{format_problems(missing)}\nAdd the conclusion to the '
                'records or a template for the label.')

    def _convert(self, rec: dict) -> List[dict]:
        """One data info per chosen annotator of a validated record."""
        root = osp.abspath(self.data_prefix['img_path'])
        paths = rec['image_path']
        img_path = osp.join(root, paths) if isinstance(paths, str) \
            else [osp.join(root, p) for p in paths]
        texts = annotator_texts(rec, self.descriptions_key,
                                self.description_names)
        references = [join_descriptions(t, self.language) for t in texts]
        label = rec.get(self.label_key) if self.label_key else None
        conclusion = rec.get(self.conclusion_key) \
            if self.conclusion_key else None
        chosen = range(len(texts)) if self.annotator == 'each' \
            else [self.annotator]
        infos = []
        for a in chosen:
            text = conclusion[a] if isinstance(conclusion, list) \
                else conclusion
            if text is None or not text.strip():
                text = (self.conclusion_templates or {}).get(label, '')
            info = dict(img_id=str(rec['id']),
                        img_path=img_path,
                        descriptions=list(texts[a]),
                        conclusion=text.strip(),
                        report=references[a],
                        references=list(references),
                        annotator=a)
            if label is not None:
                info['gt_label'] = int(label)
            infos.append(info)
        return infos
