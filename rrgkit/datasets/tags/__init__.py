# Copyright (c) rrgkit contributors. All rights reserved.
"""Medical tag mining: lexicon, negation, vocabulary mining and labelling.

Mine a vocabulary from training reports and label every image with
``tools/dataset_converters/mine_tags.py``; in Python::

    from rrgkit.datasets.tags import mine_tag_vocabulary, label_report
    vocab = mine_tag_vocabulary(train_reports, 'english', min_count=3)
    tags = label_report('No enlarged lymph nodes. GGO in the right lung.',
                        vocab)
"""
from .annotate import (add_tags_to_annotation, file_sha256,
                       mine_annotation_vocabulary, read_annotation,
                       reports_by_id, resplit_ids, split_image_ids,
                       split_sha256)
from .default_lexicon import DEFAULT_LEXICON
from .lexicon import CATEGORIES, KINDS, Lexicon, TagInfo, TagTerm
from .miner import (Mention, extract_tags, find_mentions, label_report,
                    mine_tag_vocabulary, unmatched_clauses)
from .negation import (LANGUAGES, Clause, NegationCue, clip_scopes,
                       find_negations, is_negated, normalize_language,
                       normalize_text, split_clauses)
from .vocabulary import (MINER_VERSION, TagVocabulary, TagVocabularyError,
                         load_tag_file)

__all__ = [
    'TagVocabulary', 'TagVocabularyError', 'mine_tag_vocabulary',
    'label_report', 'extract_tags', 'find_mentions', 'Mention',
    'unmatched_clauses', 'load_tag_file', 'MINER_VERSION', 'Lexicon',
    'TagInfo', 'TagTerm', 'DEFAULT_LEXICON', 'KINDS', 'CATEGORIES',
    'LANGUAGES', 'Clause', 'NegationCue', 'normalize_language',
    'normalize_text', 'split_clauses', 'find_negations', 'clip_scopes',
    'is_negated', 'add_tags_to_annotation', 'file_sha256', 'split_sha256',
    'read_annotation', 'resplit_ids', 'split_image_ids', 'reports_by_id',
    'mine_annotation_vocabulary'
]
