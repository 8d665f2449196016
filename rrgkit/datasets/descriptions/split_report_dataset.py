# Copyright (c) rrgkit contributors. All rights reserved.
"""R2Gen-style reports split into K descriptions plus a conclusion."""
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from rrgkit.registry import DATASETS, TRANSFORMS
from ..errors import AnnotationError, DatasetError, format_problems
from ..report_dataset import ReportDataset
from ..transforms.caching import cache_pipeline
from .common import DescriptionQueries, description_metainfo
from .presets import build_report_splitter
from .splitter import ReportSplitError

__all__ = ['SplitReportDataset']


@DATASETS.register_module()
class SplitReportDataset(DescriptionQueries, BaseDataset):
    """A :class:`ReportDataset` whose reports are split for MDNet.

    The records are read, validated and filtered by an inner
    :class:`ReportDataset` built from the same arguments; a report splitter
    (see :mod:`rrgkit.datasets.descriptions`) then adds to every data info:

    * ``descriptions`` (list[str]): K texts in the order of
      ``metainfo['description_names']``, '' where the report says nothing
      of that part;
    * ``conclusion`` (str): the report's conclusion text, else the
      splitter's template for ``gt_label``, else '';
    * ``references`` (list[str]): ``[report]``.

    ``report`` stays the original report. ``metainfo`` gets
    ``description_names`` and, when the splitter has them,
    ``conclusion_classes`` and ``conclusion_templates``.

    Example (COV-CTR English, conclusion from the ``COVID`` label)::

        dict(type='SplitReportDataset', report_splitter='covctr_en',
             ann_file='annotation.json', data_root='data/covctr',
             split='train', language='english', label_key='COVID',
             empty_report='skip', pipeline=[...])

    Another report dataset (a :class:`ReportDataset` subclass, e.g. the
    synthetic CT data) can be the source instead::

        dict(type='SplitReportDataset', report_splitter='covctr_en',
             source=dict(type='SyntheticCTDataset', split='train'),
             pipeline=[...])

    Args:
        ann_file (str): The annotation JSON (see :class:`ReportDataset`);
            unused with ``source``. Defaults to ''.
        report_splitter (str | dict | object): A preset name ('covctr_en',
            'covctr_zh'), ``dict(preset=..., **overrides)``, a
            :class:`KeywordReportSplitter` config, or a splitter object
            (see :func:`build_report_splitter`).
        data_root (str): Root folder of the data. Defaults to ''.
        pipeline (Sequence[dict | Callable]): Transforms. Defaults to ().
        metainfo (dict, optional): Extra meta information. Defaults to None.
        test_mode (bool): Defaults to False.
        lazy_init (bool): Defer reading the annotation. Defaults to False.
        indices (int | Sequence[int], optional): Keep only these samples.
            Defaults to None.
        serialize_data (bool): Defaults to True.
        max_refetch (int): Defaults to 1000.
        source (dict, optional): Config of the report dataset to split
            (built lazily); replaces ``ann_file`` and ``report_kwargs``.
            Defaults to None.
        cache_images (str, optional): 'disk' or 'memory' caches decoded,
            resized images (see :class:`ReportDataset`). Defaults to None.
        **report_kwargs: Other :class:`ReportDataset` arguments
            (``split``, ``language``, ``label_key``, ``data_prefix``,
            ``empty_report``, ``resplit``, ``tags_file``, ...).
    """

    def __init__(self,
                 ann_file: str = '',
                 report_splitter: Union[str, dict, object, None] = None,
                 data_root: str = '',
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 indices: Union[int, Sequence[int], None] = None,
                 serialize_data: bool = True,
                 max_refetch: int = 1000,
                 source: Optional[dict] = None,
                 cache_images: Optional[str] = None,
                 **report_kwargs) -> None:
        if report_splitter is None:
            raise DatasetError(
                "SplitReportDataset needs report_splitter (e.g. "
                "report_splitter='covctr_en').")
        self.splitter = build_report_splitter(report_splitter)
        if source is not None:
            if report_kwargs:
                raise DatasetError(
                    'SplitReportDataset: give the report dataset either as '
                    f'source or as arguments, not both (got source and '
                    f'{sorted(report_kwargs)}).')
            source = dict(source)
            source.setdefault('lazy_init', True)
            self.source = DATASETS.build(source)
        else:
            self.source = ReportDataset(ann_file=ann_file,
                                        data_root=data_root,
                                        lazy_init=True,
                                        **report_kwargs)
        templates = getattr(self.splitter, 'conclusion_templates', None)
        if templates and not getattr(self.source, 'label_key', None):
            raise DatasetError(
                f'The report splitter {self.splitter!r} writes the '
                'conclusion from the class label, but no label_key is set. '
                "Pass label_key (e.g. label_key='COVID' for COV-CTR), or "
                'conclusion_templates=None in report_splitter to leave the '
                'conclusion empty.')
        self.split = self.source.split
        if cache_images is not None:
            pipeline = cache_pipeline(pipeline, cache=cache_images)
        pipeline = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline
        ]
        super().__init__(ann_file=ann_file or self.source.ann_file,
                         metainfo=metainfo,
                         data_root=data_root,
                         pipeline=pipeline,
                         test_mode=test_mode,
                         lazy_init=lazy_init,
                         indices=indices,
                         serialize_data=serialize_data,
                         max_refetch=max_refetch)
        # Set after BaseDataset, which would try to read strings as files.
        self._metainfo.update(self.source.metainfo)
        self._metainfo.update(
            description_metainfo(
                self.splitter.description_names,
                getattr(self.splitter, 'conclusion_classes', None), templates))

    def load_data_list(self) -> List[dict]:
        """Load the records with the inner dataset, then split the reports.

        Raises:
            AnnotationError: Listing every report that cannot be split (a
                clause no group claims, with ``other='error'``) or whose
                label has no conclusion template.
        """
        infos = self.source.load_data_list()
        names = tuple(self.splitter.description_names)
        templates = getattr(self.splitter, 'conclusion_templates', None)
        problems = []
        for info in infos:
            where = f'id {info["img_id"]!r}'
            label = info.get('gt_label')
            if templates and label not in templates:
                problems.append(
                    f'{where}: label {label!r} has no conclusion template '
                    f'(templates for {sorted(templates)})')
                continue
            try:
                result = self.splitter.split(info['report'], label)
            except ReportSplitError as e:
                problems.append(f'{where}: {e}')
                continue
            if len(result.descriptions) != len(names):
                problems.append(
                    f'{where}: the splitter returned '
                    f'{len(result.descriptions)} descriptions for the '
                    f'{len(names)} names {names}')
                continue
            info.update(descriptions=list(result.descriptions),
                        conclusion=result.conclusion,
                        references=[info['report']])
        if problems:
            raise AnnotationError(
                f'{len(problems)} report(s) of split {self.split!r} in '
                f'{self.source.ann_file!r} could not be split into '
                f'{names}:\n{format_problems(problems)}\nAdd keywords to the '
                "splitter's groups, pass other='previous' (or 'last', "
                "'drop') in report_splitter, or fix the labels.")
        return infos
