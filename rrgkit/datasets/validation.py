# Copyright (c) rrgkit contributors. All rights reserved.
"""Check a whole R2Gen-style dataset before training; list every problem.

Loading a :class:`~rrgkit.datasets.ReportDataset` stops at the first kind
of problem, and a corrupt image only shows up when a worker reads it, hours
into training. :func:`validate_annotation` instead reads the annotation
file and decodes every image, and returns all problems at once: bad JSON or
structure, malformed records, empty reports, duplicate ids, ids in two
splits, missing and undecodable images. ``tools/analysis/
validate_dataset.py`` runs it on the datasets of a config (see
:func:`validate_config`).
"""
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from PIL import Image

from .annotation_checks import id_problems, read_json, record_problems
from .errors import DatasetError
from .transforms.loading import read_image

__all__ = [
    'Problem', 'ValidationReport', 'validate_annotation', 'dataset_specs',
    'validate_config'
]


@dataclass
class Problem:
    """One problem found in a dataset.

    Args:
        kind (str): E.g. 'missing image', 'duplicate id'.
        message (str): Where it is and what is wrong.
        severity (str): 'error' (training would fail or be wrong) or
            'warning' (handled by the config, e.g. skipped empty reports).
            Defaults to 'error'.
    """
    kind: str
    message: str
    severity: str = 'error'


@dataclass
class ValidationReport:
    """What :func:`validate_annotation` found in one annotation file.

    Args:
        ann_file (str): The annotation file.
        img_dir (str): The image folder.
        records (dict): Records checked per split.
        images (int): Distinct image files referenced.
        formats (Counter): Decoded images per format (``'PNG'``, ...).
        suffix_mismatch (int): Images whose content format differs from
            their suffix (fine: images are read by content).
        problems (list[Problem]): Everything found.
    """
    ann_file: str
    img_dir: str
    records: Dict[str, int] = field(default_factory=dict)
    images: int = 0
    formats: Counter = field(default_factory=Counter)
    suffix_mismatch: int = 0
    problems: List[Problem] = field(default_factory=list)

    @property
    def errors(self) -> List[Problem]:
        """The problems of severity 'error'."""
        return [p for p in self.problems if p.severity == 'error']

    @property
    def warnings(self) -> List[Problem]:
        """The problems of severity 'warning'."""
        return [p for p in self.problems if p.severity == 'warning']

    def add(self, kind: str, messages: Sequence[str],
            severity: str = 'error') -> None:
        """Append one problem per message."""
        self.problems += [Problem(kind, m, severity) for m in messages]

    def summary(self) -> str:
        """A few lines: counts, formats and problems per kind."""
        counts = ', '.join(f'{s} {n}' for s, n in self.records.items())
        formats = ', '.join(f'{f} {n}' for f, n in self.formats.most_common())
        lines = [f'Annotation {self.ann_file}', f'  records: {counts}',
                 f'  images:  {self.images} in {self.img_dir}'
                 + (f' ({formats})' if formats else '')]
        if self.suffix_mismatch:
            lines.append(f'           {self.suffix_mismatch} with a suffix '
                         'that does not match their content (fine: images '
                         'are read by content)')
        kinds = Counter((p.severity, p.kind) for p in self.problems)
        for (severity, kind), n in sorted(kinds.items()):
            lines.append(f'  {severity}: {n} {kind}')
        if not self.problems:
            lines.append('  no problems found')
        return '\n'.join(lines)


def _located(ann: dict, splits: Sequence[str]) -> list:
    return [(s, i, rec) for s in splits for i, rec in enumerate(ann[s])]


def _image_paths(located: list, img_dir: str) -> List[str]:
    paths = []
    for _, _, rec in located:
        value = rec.get('image_path') if isinstance(rec, dict) else None
        for path in [value] if isinstance(value, str) else value or ():
            if isinstance(path, str) and path:
                paths.append(osp.join(img_dir, path))
    return list(dict.fromkeys(paths))


def _check_images(report: ValidationReport, paths: List[str],
                  progress: bool) -> None:
    from rich.console import Console
    from rich.progress import Progress
    missing, corrupt = [], []
    suffixes = {'JPEG': ('.jpg', '.jpeg'), 'PNG': ('.png', ),
                'TIFF': ('.tif', '.tiff'), 'BMP': ('.bmp', )}
    with Progress(console=Console(stderr=True), disable=not progress) as bar:
        task = bar.add_task('Reading images', total=len(paths))
        for path in paths:
            bar.advance(task)
            if not osp.isfile(path):
                missing.append(path)
                continue
            try:
                read_image(path, color_type='grayscale')
                with Image.open(path) as img:
                    fmt = img.format or '?'
            except DatasetError as e:
                corrupt.append(str(e))
                continue
            except OSError:  # DICOM: PIL cannot open it, read_image could
                fmt = 'DICOM'
            report.formats[fmt] += 1
            ext = osp.splitext(path)[1].lower()
            if fmt in suffixes and ext not in suffixes[fmt]:
                report.suffix_mismatch += 1
    report.add('missing image', [
        f'image file not found: {p} (check data_root / data_prefix, restore '
        'the file or remove its record)' for p in missing
    ])
    report.add('undecodable image', corrupt)


def validate_annotation(ann_file: str,
                        img_dir: str,
                        splits: Optional[Sequence[str]] = None,
                        language: Optional[str] = None,
                        language_key: str = 'label1',
                        report_key: str = 'report',
                        label_key: Optional[str] = None,
                        empty_report: str = 'error',
                        pooled: bool = False,
                        check_images: bool = True,
                        progress: bool = False) -> ValidationReport:
    """Check an R2Gen-style annotation file and its images.

    Args:
        ann_file (str): The annotation JSON.
        img_dir (str): Folder the ``image_path`` values are relative to.
        splits (Sequence[str], optional): Splits to check. None checks all
            of the file's splits. Their ids are also looked for in the
            other splits. Defaults to None.
        language (str, optional): Check only records whose ``language_key``
            equals this. Defaults to None (all records).
        language_key (str): Field holding the language. Defaults to 'label1'.
        report_key (str): Field holding the report. Defaults to 'report'.
        label_key (str, optional): Field with an int class. Defaults to None.
        empty_report (str): What the dataset does with empty reports:
            'error' makes them errors, 'skip' warnings. Defaults to 'error'.
        pooled (bool): The dataset re-splits the pooled records by id
            (``resplit``): ids in two of the file's splits are then not a
            leak. Defaults to False.
        check_images (bool): Decode every image. Defaults to True.
        progress (bool): Show a rich progress bar while reading images.
            Defaults to False.

    Returns:
        ValidationReport: Counts and every problem found.
    """
    report = ValidationReport(ann_file, img_dir)
    try:
        ann = read_json(ann_file, 'Annotation file')
    except DatasetError as e:
        report.add('unreadable annotation', [str(e)])
        return report
    if not isinstance(ann, dict) or not all(
            isinstance(v, list) for v in ann.values()):
        report.add('bad annotation structure', [
            f'{ann_file!r} must hold a JSON object mapping split names to '
            'lists of records, like {"train": [...], "val": [...], '
            '"test": [...]}'
        ])
        return report
    wanted = list(ann) if splits is None or pooled else list(splits)
    absent = [s for s in wanted if s not in ann]
    report.add('missing split', [
        f'split {s!r} is not in {ann_file!r} (splits: {sorted(ann)})'
        for s in absent
    ])
    located = _located(ann, [s for s in wanted if s in ann])
    report.add('malformed record', record_problems(
        located, report_key, label_key=label_key, language=language,
        language_key=language_key))
    others = _located(ann, [s for s in ann if s not in wanted])
    if language is not None:
        located, others = ([x for x in group if isinstance(x[2], dict)
                            and x[2].get(language_key) == language]
                           for group in (located, others))
    for split in wanted:
        report.records[split] = sum(x[0] == split for x in located)
        if split in ann and not report.records[split]:
            report.add('empty split', [
                f'split {split!r} has no record'
                + (f' with {language_key!r} == {language!r}'
                   if language is not None else '')
            ])
    empty = [f'split {s!r} record #{i}, id {r.get("id")!r}: empty '
             f'{report_key!r}' for s, i, r in located
             if isinstance(r, dict) and isinstance(r.get(report_key), str)
             and not r[report_key].strip()]
    report.add('empty report', empty,
               'warning' if empty_report == 'skip' else 'error')
    if pooled:
        located_ids = [('pooled', i, r) for _, i, r in located]
        duplicates, leaks = id_problems(located_ids, (), language_key)
    else:
        duplicates, leaks = id_problems(located, others, language_key)
    report.add('duplicate id', duplicates)
    report.add('id in two splits', leaks)
    paths = _image_paths(located, img_dir)
    report.images = len(paths)
    if check_images:
        _check_images(report, paths, progress)
    return report


def _type_name(dataset_cfg: dict) -> str:
    t = dataset_cfg.get('type')
    return getattr(t, '__name__', str(t).split('.')[-1])


def dataset_specs(cfg, splits: Sequence[str] = ('train', 'val', 'test')
                  ) -> List[dict]:
    """The :func:`validate_annotation` arguments of a config's datasets.

    Reads ``<split>_dataloader.dataset`` for each split (a
    ``SplitReportDataset``'s ``source`` too). Datasets reading the same file
    with the same settings are merged into one spec with several splits.

    Args:
        cfg (Config | dict): A loaded config.
        splits (Sequence[str]): Dataloaders to read. Defaults to
            ``('train', 'val', 'test')``.

    Returns:
        list[dict]: Keyword arguments for :func:`validate_annotation`, plus
        ``skipped``: a reason, for a dataset without an annotation file.
    """
    specs: Dict[tuple, dict] = {}
    for split in splits:
        loader = cfg.get(f'{split}_dataloader') or {}
        ds = dict(loader.get('dataset') or {})
        if ds.get('source'):
            ds = dict(ds['source'], split=ds.get('split', split))
        if not ds.get('ann_file'):
            reason = (f'{split}_dataloader.dataset ({_type_name(ds)}) has no '
                      'ann_file; nothing to check' if ds else
                      f'no {split}_dataloader.dataset in the config')
            specs[('skip', split)] = dict(skipped=reason)
            continue
        root = ds.get('data_root') or ''
        img = (ds.get('data_prefix') or {}).get('img_path', 'images')
        spec = dict(
            ann_file=osp.join(root, ds['ann_file']),
            img_dir=osp.join(root, img),
            language=ds.get('language'),
            language_key=ds.get('language_key', 'label1'),
            report_key=ds.get('report_key', 'report'),
            label_key=ds.get('label_key'),
            empty_report=ds.get('empty_report', 'error'),
            pooled=ds.get('resplit') is not None)
        key = tuple(sorted(spec.items()))
        specs.setdefault(key, dict(spec, splits=[]))['splits'].append(
            ds.get('split', split))
    return list(specs.values())


def validate_config(cfg,
                    splits: Sequence[str] = ('train', 'val', 'test'),
                    check_images: bool = True,
                    progress: bool = False
                    ) -> Tuple[List[ValidationReport], List[str]]:
    """Validate the datasets of a config, one report per annotation file.

    Args:
        cfg (Config | dict): A loaded config.
        splits (Sequence[str]): Dataloaders to check. Defaults to
            ``('train', 'val', 'test')``.
        check_images (bool): Decode every image. Defaults to True.
        progress (bool): Show a progress bar. Defaults to False.

    Returns:
        tuple[list[ValidationReport], list[str]]: One report per distinct
        dataset setting, and why the other dataloaders were skipped.
    """
    reports, skipped = [], []
    for spec in dataset_specs(cfg, splits):
        if 'skipped' in spec:
            skipped.append(spec['skipped'])
        else:
            reports.append(validate_annotation(
                **spec, check_images=check_images, progress=progress))
    return reports, skipped
