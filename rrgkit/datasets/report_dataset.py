# Copyright (c) rrgkit contributors. All rights reserved.
"""Image-report pairs from an R2Gen-style annotation file.

The file is ``{"train": [...], "val": [...], "test": [...]}``; each record
has an ``id``, an ``image_path`` (one path, or a list of views, relative to
the image folder) and a ``report``. This is the form R2Gen published for
IU X-Ray and MIMIC-CXR and the form of the COV-CTR copy in
``shared/data/covctr`` (which adds ``COVID`` and ``label1``).
"""
import logging
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from rrgkit.registry import DATASETS, TRANSFORMS
from .annotation_checks import (check_ids, check_images, load_tag_names,
                                read_json, record_location,
                                validate_records)
from .errors import (AnnotationError, DatasetError, EmptyReportError,
                     format_problems)
from .resplit import check_resplit, resplit_records
from .transforms.caching import cache_pipeline
from .transforms.feature_cache import feature_cache_pipeline

__all__ = ['ReportDataset', 'load_tag_names']


@DATASETS.register_module()
class ReportDataset(BaseDataset):
    """Images with reference reports, read from an R2Gen-style JSON file.

    Each item of ``data_list`` holds ``img_id`` (str), ``img_path`` (absolute
    path, or a list of them for multi-view records), ``report`` (str, stripped
    of surrounding whitespace) and, when configured, ``gt_label`` (int),
    ``gt_tags`` (float32 multi-hot over ``tag_names``) and ``gt_boxes``
    (float32 ``(N, 4)`` ``x1, y1, x2, y2`` pixels; single-image records only).

    The whole split is validated at load time and every problem of one kind
    is reported at once (see :mod:`rrgkit.datasets.errors`).

    Args:
        ann_file (str): The annotation JSON, relative to ``data_root``
            unless absolute.
        data_root (str): Root folder of the data. Defaults to ''.
        data_prefix (dict): ``img_path``: image folder, relative to
            ``data_root`` unless absolute. Defaults to
            ``dict(img_path='images')``.
        split (str): Which split to read. Defaults to 'train'.
        language (str, optional): Keep only records whose ``language_key``
            field equals this (e.g. 'english' for COV-CTR). Defaults to None.
        language_key (str): Field holding the language. Defaults to 'label1'.
        report_key (str): Field holding the report. Defaults to 'report'.
        label_key (str, optional): Field with the diagnostic conclusion class
            (an int, e.g. 'COVID'). Defaults to None.
        tags_key (str, optional): Field with a list of tag names. Needs
            ``tag_names``. Defaults to None.
        tags_file (str, optional): Mined tags (vocabulary + per-image
            labels) written by ``tools/dataset_converters/mine_tags.py``;
            replaces ``tags_key``/``tag_names``. Defaults to None.
        tag_names (str | Sequence[str], optional): Ordered tag vocabulary, or
            a JSON file with a list or ``{"tags": [...]}`` (relative to
            ``data_root`` unless absolute). Defaults to None.
        boxes_key (str, optional): Field with ``[[x1, y1, x2, y2], ...]``.
            Defaults to None.
        empty_report (str): 'error' raises :class:`EmptyReportError` on an
            empty report; 'skip' drops such records with a warning.
            Defaults to 'error'.
        resplit (dict, optional): None keeps the file's split. Otherwise
            ``dict(seed=0, ratios=(0.7, 0.1, 0.2))``: pool all splits, group
            records by ``id`` (so both languages of an image stay together),
            sort the ids, shuffle them with ``seed`` and cut them into
            train/val/test by ``ratios``. Defaults to None.
        check_files (bool): Check that every image file exists at load time.
            Defaults to True.
        check_ids (bool): Refuse ids used twice in the split (per
            language) or also found in another split of the file (with
            ``resplit``, only the former). Defaults to True.
        pipeline (Sequence[dict | Callable]): Transforms, built with rrgkit's
            TRANSFORMS registry. Defaults to ().
        cache_images (str, optional): 'disk' or 'memory' wraps the
            deterministic start of ``pipeline`` (image loading and resizing)
            in :class:`~rrgkit.datasets.transforms.CachedTransforms`, so
            epochs after the first do not decode the images again. None
            (default) decodes every time.
        feature_cache (dict, optional): Train on a frozen backbone's cached
            features instead of images: ``dict(backbone=<config>,
            checkpoint=<path>, prefix='backbone.', region_proposer=None,
            ...)`` (see :class:`~rrgkit.datasets.transforms.LoadCachedFeatures`
            and docs/feature_cache.md). The features of every record are
            computed when the dataset is built, in batches, and stored in
            ``$RRGKIT_CACHE/features``; the pipeline then packs them instead
            of the image (the model needs ``backbone=dict(
            type='CachedFeatures', out_channels=...)``). Replaces
            ``cache_images``. Defaults to None.
        metainfo (dict, optional): Extra meta information. Defaults to None.
        test_mode (bool): Defaults to False.
        lazy_init (bool): Defer reading the annotation. Defaults to False.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments
            (``indices``, ``serialize_data``, ``max_refetch``).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 split: str = 'train',
                 language: Optional[str] = None,
                 language_key: str = 'label1',
                 report_key: str = 'report',
                 label_key: Optional[str] = None,
                 tags_key: Optional[str] = None,
                 tag_names: Union[str, Sequence[str], None] = None,
                 tags_file: Optional[str] = None,
                 boxes_key: Optional[str] = None,
                 empty_report: str = 'error',
                 resplit: Optional[dict] = None,
                 check_files: bool = True,
                 check_ids: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 cache_images: Optional[str] = None,
                 feature_cache: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        if empty_report not in ('error', 'skip'):
            raise DatasetError(f"empty_report must be 'error' or 'skip', "
                               f'got {empty_report!r}.')
        if tags_file is not None and (tags_key or tag_names):
            raise DatasetError('Give either tags_file (mined tags, see '
                               'tools/dataset_converters/mine_tags.py) or '
                               'tags_key + tag_names, not both.')
        if tags_key is not None and tag_names is None:
            raise DatasetError(
                f'tags_key={tags_key!r} needs tag_names (a list of tags or a '
                'JSON file with one).')
        data_prefix = dict(img_path='images') if data_prefix is None \
            else dict(data_prefix)
        if 'img_path' not in data_prefix:
            raise DatasetError('data_prefix needs an "img_path" entry (the '
                               f'image folder), got {data_prefix}.')
        if resplit is not None:
            resplit = check_resplit(resplit, split)
        self.split = split
        self.language = language
        self.language_key = language_key
        self.report_key = report_key
        self.label_key = label_key
        self.tags_key = tags_key
        self.boxes_key = boxes_key
        self.empty_report = empty_report
        self.resplit = resplit
        self.check_files = check_files
        self.check_ids = check_ids
        self.tag_names = None if tag_names is None else load_tag_names(
            tag_names, data_root)
        self.tags_file = tags_file
        self._tag_labels = None
        if tags_file is not None:
            from .tags import load_tag_file
            vocab, self._tag_labels = load_tag_file(tags_file)
            self.tag_names = list(vocab.tags)
        self._feature_loader = None
        if feature_cache is not None:
            self._feature_loader, pipeline = feature_cache_pipeline(
                pipeline, feature_cache)
        elif cache_images is not None:
            pipeline = cache_pipeline(pipeline, cache=cache_images)
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
        # Set after BaseDataset, which would try to read strings as files.
        self._metainfo.update(split=split, language=language)
        if self.tag_names is not None:
            self._metainfo['tag_names'] = list(self.tag_names)

    # ------------------------------------------------------------------
    # Loading
    # ------------------------------------------------------------------
    def full_init(self) -> None:
        """Load the data list; with ``feature_cache``, compute the features
        not cached yet (in this process, batched)."""
        if self._fully_initialized:
            return
        super().full_init()
        if self._feature_loader is not None:
            done = self._feature_loader.fill(
                [self.get_data_info(i) for i in range(len(self))])
            if done:
                print_log(
                    f'ReportDataset: computed the cached features of {done} '
                    f'image(s) of split {self.split!r} in '
                    f'{self._feature_loader.cache_dir}.',
                    logger='current')

    def load_data_list(self) -> List[dict]:
        """Read, validate and convert the records of ``self.split``."""
        ann = read_json(self.ann_file, 'Annotation file')
        if not isinstance(ann, dict) or not all(
                isinstance(v, list) for v in ann.values()):
            raise AnnotationError(
                f'Annotation file {self.ann_file!r} must hold a JSON object '
                'mapping split names to lists of records, like '
                '{"train": [...], "val": [...], "test": [...]}.')
        if self.resplit is None and self.split not in ann:
            raise AnnotationError(
                f'Split {self.split!r} is not in annotation file '
                f'{self.ann_file!r}; available splits: {sorted(ann)}. Pass '
                'one of them as `split`, or use `resplit`.')
        names = list(ann) if self.resplit is not None else [self.split]
        located = [(name, i, rec) for name in names
                   for i, rec in enumerate(ann[name])]
        validate_records(located,
                         self.ann_file,
                         report_key=self.report_key,
                         label_key=self.label_key,
                         tags_key=self.tags_key,
                         boxes_key=self.boxes_key,
                         language=self.language,
                         language_key=self.language_key,
                         tag_names=self.tag_names)
        if self.resplit is not None:
            located = resplit_records(located, self.resplit, self.split)
        located = self._filter_language(located)
        located = self._handle_empty(located)
        if self.check_ids and self.resplit is not None:
            # Pooled and re-split by id: no leak, but duplicates remain.
            check_ids([(self.split, i, r) for _, i, r in located], [],
                      self.ann_file, self.language_key)
        elif self.check_ids:
            others = [(name, i, rec) for name, recs in ann.items()
                      if name != self.split for i, rec in enumerate(recs)]
            check_ids(located, others, self.ann_file, self.language_key)
        data_list = [self._convert(rec) for _, _, rec in located]
        if self.check_files:
            check_images(data_list, self.split, self.ann_file,
                         osp.abspath(self.data_prefix['img_path']))
        return data_list

    def _filter_language(self, located: list) -> list:
        if self.language is None:
            return located
        kept = [x for x in located if x[2][self.language_key] == self.language]
        if located and not kept:
            found = sorted({x[2][self.language_key] for x in located})
            raise AnnotationError(
                f'No record of split {self.split!r} in {self.ann_file!r} has '
                f'{self.language_key!r} == {self.language!r}; values found: '
                f'{found}. Pass one of them as `language`.')
        return kept

    def _handle_empty(self, located: list) -> list:
        empty = [(s, i, r) for s, i, r in located
                 if not r[self.report_key].strip()]
        if not empty:
            return located
        if self.empty_report == 'error':
            lines = [record_location(s, i, r) for s, i, r in empty]
            raise EmptyReportError(
                f'{len(empty)} record(s) in {self.ann_file!r} have an empty '
                f'{self.report_key!r}:\n{format_problems(lines)}\n'
                "Fill them in, or pass empty_report='skip' to drop them.")
        print_log(
            f'ReportDataset: skipped {len(empty)} record(s) with an empty '
            f'{self.report_key!r} in split {self.split!r} of '
            f'{self.ann_file!r}.',
            logger='current',
            level=logging.WARNING)
        return [x for x in located if x[2][self.report_key].strip()]

    def _convert(self, rec: dict) -> dict:
        root = osp.abspath(self.data_prefix['img_path'])
        paths = rec['image_path']
        if isinstance(paths, str):
            img_path: Union[str, List[str]] = osp.join(root, paths)
        else:
            img_path = [osp.join(root, p) for p in paths]
        info = dict(img_id=str(rec['id']),
                    img_path=img_path,
                    report=rec[self.report_key].strip())
        if self.label_key:
            info['gt_label'] = int(rec[self.label_key])
        if self.tags_key or self._tag_labels is not None:
            tags = rec[self.tags_key] if self.tags_key else \
                self._labels_of(info['img_id'])
            multi_hot = np.zeros(len(self.tag_names), dtype=np.float32)
            for tag in tags:
                multi_hot[self.tag_names.index(tag)] = 1.0
            info['gt_tags'] = multi_hot
        if self.boxes_key:
            info['gt_boxes'] = np.asarray(rec[self.boxes_key],
                                          dtype=np.float32).reshape(-1, 4)
        return info

    def _labels_of(self, img_id: str) -> List[str]:
        if img_id not in self._tag_labels:
            raise AnnotationError(
                f'Tag file {self.tags_file!r} has no labels for image id '
                f'{img_id!r} of {self.ann_file!r}; it was mined from another '
                'annotation file or split. Re-run '
                'tools/dataset_converters/mine_tags.py on this file.')
        return self._tag_labels[img_id]

    # ------------------------------------------------------------------
    # Queries
    # ------------------------------------------------------------------
    def get_reports(self) -> List[str]:
        """Return the reports of this split, in order, without reading images.

        Returns:
            list[str]: One report per sample.
        """
        if not self._fully_initialized:
            self.full_init()
        return [self.get_data_info(i)['report'] for i in range(len(self))]

    def get_tag_matrix(self) -> np.ndarray:
        """Return the ``(N, num_tags)`` multi-hot tags of this split.

        Used to build a tag co-occurrence prior from the training split.

        Raises:
            DatasetError: If the dataset has no tags configured.
        """
        if self.tag_names is None:
            raise DatasetError('This dataset has no tags: set tags_key and '
                               'tag_names (or use tagged data).')
        if not self._fully_initialized:
            self.full_init()
        return np.stack(
            [self.get_data_info(i)['gt_tags'] for i in range(len(self))])
