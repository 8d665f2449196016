# Copyright (c) rrgkit contributors. All rights reserved.
"""Image-report pairs from an R2Gen-style annotation file.

The file is ``{"train": [...], "val": [...], "test": [...]}``; each record
has an ``id``, an ``image_path`` (one path, or a list of views, relative to
the image folder) and a ``report``. This is the form R2Gen published for
IU X-Ray and MIMIC-CXR and the form of the COV-CTR copy in
``shared/data/covctr`` (which adds ``COVID`` and ``label1``).
"""
import json
import logging
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from rrgkit.registry import DATASETS, TRANSFORMS
from .errors import (AnnotationError, DatasetError, EmptyReportError,
                     MissingImageError, format_problems)

__all__ = ['ReportDataset', 'load_tag_names']

SPLITS = ('train', 'val', 'test')


def _read_json(path: str, what: str):
    """Read a UTF-8 JSON file, turning every failure into AnnotationError."""
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
        tag_names = _read_json(path, 'Tag file')
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
        pipeline (Sequence[dict | Callable]): Transforms, built with rrgkit's
            TRANSFORMS registry. Defaults to ().
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
                 pipeline: Sequence[Union[dict, Callable]] = (),
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
            resplit = self._check_resplit(resplit, split)
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
        self.tag_names = None if tag_names is None else load_tag_names(
            tag_names, data_root)
        self.tags_file = tags_file
        self._tag_labels = None
        if tags_file is not None:
            from .tags import load_tag_file
            vocab, self._tag_labels = load_tag_file(tags_file)
            self.tag_names = list(vocab.tags)
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

    @staticmethod
    def _check_resplit(resplit: dict, split: str) -> dict:
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

    # ------------------------------------------------------------------
    # Loading
    # ------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """Read, validate and convert the records of ``self.split``."""
        ann = _read_json(self.ann_file, 'Annotation file')
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
        self._validate(located)
        if self.resplit is not None:
            located = self._resplit(located)
        located = self._filter_language(located)
        located = self._handle_empty(located)
        data_list = [self._convert(rec) for _, _, rec in located]
        if self.check_files:
            self._check_images(data_list)
        return data_list

    def _where(self, split: str, index: int, rec) -> str:
        rid = rec.get('id') if isinstance(rec, dict) else None
        rid = f', id {rid!r}' if rid is not None else ''
        return f'split {split!r} record #{index}{rid}'

    def _validate(self, located: list) -> None:
        """Collect every malformed record, then raise once."""
        checks = [('id', (str, int), 'a string'),
                  ('image_path', (str, list), 'a path or a list of paths'),
                  (self.report_key, str, 'a string')]
        if self.label_key:
            checks.append((self.label_key, int, 'an integer class index'))
        if self.tags_key:
            checks.append((self.tags_key, list, 'a list of tag names'))
        if self.boxes_key:
            checks.append((self.boxes_key, list, 'a list of [x1, y1, x2, y2]'))
        if self.language is not None:
            checks.append((self.language_key, str, 'a string'))
        tags = set(self.tag_names or ())
        problems = []
        for split, i, rec in located:
            where = self._where(split, i, rec)
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
                f'{where}: ' + p for p in self._value_problems(rec, tags)
            ]
        if problems:
            raise AnnotationError(
                f'{len(problems)} problem(s) in annotation file '
                f'{self.ann_file!r}:\n{format_problems(problems)}\n'
                'Fix these records (or the key names passed to '
                'ReportDataset).')

    def _value_problems(self, rec: dict, tags: set) -> List[str]:
        """Problems inside values whose type is already right."""
        problems = []
        paths = rec.get('image_path')
        if isinstance(paths, list) and (
                not paths or not all(isinstance(p, str) and p for p in paths)):
            problems.append("key 'image_path' must be a non-empty list of "
                            'non-empty strings')
        elif isinstance(paths, str) and not paths:
            problems.append("key 'image_path' is empty")
        tag_list = rec.get(self.tags_key) if self.tags_key else None
        if isinstance(tag_list, list):
            unknown = [t for t in tag_list if t not in tags]
            if unknown:
                problems.append(
                    f'key {self.tags_key!r} has tag(s) not in tag_names: '
                    f'{unknown}; add them to the tag vocabulary or fix the '
                    'record')
        boxes = rec.get(self.boxes_key) if self.boxes_key else None
        if isinstance(boxes, list):
            ok = all(
                isinstance(b, list) and len(b) == 4 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in b) for b in boxes)
            if not ok:
                problems.append(f'key {self.boxes_key!r} must be a list of '
                                '[x1, y1, x2, y2] numbers')
            elif boxes and isinstance(paths, list) and len(paths) > 1:
                problems.append(f'key {self.boxes_key!r}: boxes are only '
                                'supported for single-image records')
        return problems

    def _resplit(self, located: list) -> list:
        """Seeded re-split by image id over all splits of the file."""
        ids = sorted({str(rec['id']) for _, _, rec in located})
        order = np.random.default_rng(self.resplit['seed']).permutation(
            len(ids))
        ratios = np.asarray(self.resplit['ratios'], dtype=float)
        ratios = ratios / ratios.sum()
        n_train = int(round(len(ids) * ratios[0]))
        n_val = int(round(len(ids) * ratios[1]))
        bounds = {
            'train': (0, n_train),
            'val': (n_train, n_train + n_val),
            'test': (n_train + n_val, len(ids))
        }[self.split]
        keep = {ids[j] for j in order[bounds[0]:bounds[1]]}
        seen, out = set(), []
        for split, i, rec in located:
            # A record listed in several splits of the file is taken once.
            key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
            if str(rec['id']) in keep and key not in seen:
                seen.add(key)
                out.append((split, i, rec))
        return out

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
            lines = [self._where(s, i, r) for s, i, r in empty]
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

    def _check_images(self, data_list: List[dict]) -> None:
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
                f'{len(missing)} image file(s) of split {self.split!r} '
                f'(annotation {self.ann_file!r}) are missing from folder '
                f'{osp.abspath(self.data_prefix["img_path"])!r}:\n'
                f'{shown}{more}\nCheck `data_root` / `data_prefix`, restore '
                'the files, or pass check_files=False to find out at '
                'loading time instead.')

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
