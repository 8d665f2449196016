# Copyright (c) rrgkit contributors. All rights reserved.
from .data_preprocessor import ReportDataPreprocessor
from .report_generator import ReportGenerator
from .tag_classifier import TagClassifier

__all__ = ['ReportGenerator', 'ReportDataPreprocessor', 'TagClassifier']
