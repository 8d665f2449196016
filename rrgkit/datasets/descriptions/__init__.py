# Copyright (c) rrgkit contributors. All rights reserved.
"""Reports as K descriptions plus a conclusion (MDNet task duplication).

* :class:`KeywordReportSplitter` cuts a free-text report into K
  descriptions by keyword groups; presets ``'covctr_en'`` and
  ``'covctr_zh'`` (:mod:`.presets`) do it for COV-CTR, whose conclusion
  texts are :data:`COVCTR_CONCLUSION_TEMPLATES`.
* :class:`SplitReportDataset` is a :class:`~rrgkit.datasets.ReportDataset`
  with a splitter: R2Gen-style files such as COV-CTR.
* :class:`MultiDescriptionDataset` reads the BCIDR-like native format
  (several annotators' descriptions per image).

Both datasets give data infos with ``descriptions``, ``conclusion``,
``report`` and ``references``, and ``metainfo['description_names']``.
"""
from .checks import validate_description_records
from .multi_description_dataset import MultiDescriptionDataset
from .presets import (COVCTR_CONCLUSION_CLASSES, COVCTR_CONCLUSION_TEMPLATES,
                      COVCTR_DESCRIPTION_NAMES, REPORT_SPLITTER_PRESETS,
                      build_report_splitter)
from .split_report_dataset import SplitReportDataset
from .splitter import (OTHER_POLICIES, KeywordReportSplitter, ReportSplit,
                       ReportSplitError, join_descriptions)

__all__ = [
    'KeywordReportSplitter', 'ReportSplit', 'ReportSplitError',
    'join_descriptions', 'OTHER_POLICIES', 'build_report_splitter',
    'REPORT_SPLITTER_PRESETS', 'COVCTR_CONCLUSION_TEMPLATES',
    'COVCTR_CONCLUSION_CLASSES', 'COVCTR_DESCRIPTION_NAMES',
    'SplitReportDataset', 'MultiDescriptionDataset',
    'validate_description_records'
]
