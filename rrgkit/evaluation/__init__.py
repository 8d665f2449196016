# Copyright (c) rrgkit contributors. All rights reserved.
"""Evaluation: functional scorers and the registered mmengine metrics.

Importing this package registers the metrics and the rewards, which the
``METRICS`` and ``REWARDS`` registries do lazily through
``locations=['rrgkit.evaluation']``.
"""
from .functional import (ConclusionExtractor, compute_nlg_scores,
                         compute_nlg_scores_per_item,
                         compute_nlg_scores_with_items,
                         conclusion_recall_at_k, strip_conclusion,
                         tokenize_for_eval)
from .metrics import (ClinicalTagMetric, DiagnosticAccuracyMetric,
                      LabelAUCMetric,
                      RegionIoUMetric, ReportMetric, TagAUCMetric,
                      aggregate_runs, mean_std)
from .rewards import CIDErDReward, ClinicalF1Reward, RewardMix

__all__ = [
    'ReportMetric', 'TagAUCMetric', 'LabelAUCMetric', 'RegionIoUMetric',
    'compute_nlg_scores',
    'compute_nlg_scores_per_item', 'compute_nlg_scores_with_items',
    'tokenize_for_eval',
    'DiagnosticAccuracyMetric', 'ClinicalTagMetric', 'ConclusionExtractor',
    'strip_conclusion',
    'conclusion_recall_at_k', 'mean_std', 'aggregate_runs', 'CIDErDReward',
    'ClinicalF1Reward', 'RewardMix'
]
