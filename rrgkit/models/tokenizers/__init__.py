# Copyright (c) rrgkit contributors. All rights reserved.
"""Report tokenizers: text cleaning and the report vocabulary."""
from .builder import build_tokenizer
from .report_tokenizer import ReportTokenizer
from .text_cleaning import (clean_report_en, clean_report_zh, split_zh_chars,
                            split_zh_jieba)
from .vocab_io import SPECIAL_TOKENS, VOCAB_FORMAT, VocabularyMismatchError

__all__ = [
    'SPECIAL_TOKENS', 'VOCAB_FORMAT', 'ReportTokenizer',
    'VocabularyMismatchError', 'build_tokenizer', 'clean_report_en',
    'clean_report_zh', 'split_zh_chars', 'split_zh_jieba'
]
