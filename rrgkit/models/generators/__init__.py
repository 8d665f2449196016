# Copyright (c) rrgkit contributors. All rights reserved.
from .data_preprocessor import ReportDataPreprocessor
from .finding_classifier import FindingClassifier
from .hierarchical_generator import HierarchicalReportGenerator
from .report_generator import ReportGenerator
from .scst import SCSTGenerator
from .tag_classifier import TagClassifier
from .task_duplicated_generator import TaskDuplicatedGenerator
from .textbook_pretrainer import TextbookPretrainer, load_decoder_from

__all__ = [
    'ReportGenerator', 'ReportDataPreprocessor', 'FindingClassifier',
    'TagClassifier',
    'TextbookPretrainer', 'load_decoder_from', 'TaskDuplicatedGenerator',
    'HierarchicalReportGenerator', 'SCSTGenerator'
]
