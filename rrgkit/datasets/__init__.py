# Copyright (c) rrgkit contributors. All rights reserved.
from .descriptions import (COVCTR_CONCLUSION_TEMPLATES, KeywordReportSplitter,
                           MultiDescriptionDataset, SplitReportDataset,
                           build_report_splitter, join_descriptions)
from .errors import (AnnotationError, DatasetError, EmptyReportError,
                     FeatureCacheError, ImageDecodeError, MissingImageError)
from .report_dataset import ReportDataset, load_tag_names
from .synthetic_ct_dataset import SyntheticCTDataset
from .textbook_dataset import PackTextInputs, TextbookDataset
from .transforms import (CachedTransforms, EachView, LoadCachedFeatures,
                         LoadReportImage, PackReportInputs, RandomAffineView,
                         read_image)

__all__ = [
    'ReportDataset', 'SyntheticCTDataset', 'TextbookDataset',
    'PackTextInputs', 'load_tag_names', 'DatasetError', 'AnnotationError',
    'MissingImageError', 'ImageDecodeError', 'EmptyReportError',
    'LoadReportImage', 'read_image', 'PackReportInputs', 'EachView',
    'RandomAffineView', 'CachedTransforms', 'LoadCachedFeatures',
    'FeatureCacheError', 'SplitReportDataset',
    'MultiDescriptionDataset', 'KeywordReportSplitter',
    'build_report_splitter', 'join_descriptions', 'COVCTR_CONCLUSION_TEMPLATES'
]
