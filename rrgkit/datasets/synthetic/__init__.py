# Copyright (c) rrgkit contributors. All rights reserved.
"""Embedded synthetic chest-CT report dataset (seeded, procedural).

``ensure_synthetic_ct(num_images=600, image_size=128)`` returns a cached
folder with ``images/``, ``annotation.json`` (R2Gen form, plus labels, tags
and lesion boxes) and ``meta.json``. Images use the radiological convention:
the patient's right lung is on the image left.
"""
from .findings import (ABNORMAL_TAGS, FINDING_TYPES, LABEL_NAMES, NORMAL_TAGS,
                       TAG_NAMES, conclusion_label, findings_to_tags,
                       tags_to_multihot)
from .generate import (GENERATOR_VERSION, SyntheticCTConfig, SyntheticCase,
                       default_cache_root, ensure_synthetic_ct,
                       generate_synthetic_ct, render_case)
from .reports import FINDING_WORDS

__all__ = [
    'SyntheticCTConfig', 'SyntheticCase', 'generate_synthetic_ct',
    'ensure_synthetic_ct', 'render_case', 'default_cache_root',
    'GENERATOR_VERSION', 'TAG_NAMES', 'ABNORMAL_TAGS', 'NORMAL_TAGS',
    'LABEL_NAMES', 'FINDING_TYPES', 'FINDING_WORDS', 'findings_to_tags',
    'tags_to_multihot', 'conclusion_label'
]
