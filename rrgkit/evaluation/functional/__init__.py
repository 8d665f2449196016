# Copyright (c) rrgkit contributors. All rights reserved.
from .cider_reward import CiderD, ngram_counts
from .clinical import (CE_GROUPS, CE_ITEM_KEYS, CE_SCORE_KEYS,
                       DEFAULT_NEGATION_WINDOW, ce_item_scores, ce_scores,
                       compute_ce_scores, compute_ce_scores_per_item,
                       compute_ce_scores_with_items, label_texts,
                       load_ce_vocabulary, resolve_negation_window, tag_prf)
from .conclusion import (CONCLUSION_PRESETS, COVCTR_CLASS_NAMES,
                         COVCTR_CONCLUSIONS, UNDETERMINED, ConclusionExtractor,
                         ConclusionMatch, build_conclusion_extractor,
                         keyword_regex, sentence_regex)
from .nlg import (NLG_METRICS, NLG_SCORE_KEYS, compute_nlg_scores,
                  compute_nlg_scores_per_item, compute_nlg_scores_with_items,
                  normalize_nlg_metrics)
from .region_iou import (box_iou, centred_box_like, max_iou_with_lesions,
                         region_iou_report)
from .retrieval import conclusion_recall_at_k, rank_images, strip_conclusion
from .text_tokenize import (EVAL_TOKENIZERS, JavaNotFoundError,
                            check_eval_tokenizer, require_java,
                            tokenize_for_eval)

__all__ = [
    'CE_GROUPS', 'CE_SCORE_KEYS', 'CE_ITEM_KEYS', 'DEFAULT_NEGATION_WINDOW',
    'load_ce_vocabulary', 'resolve_negation_window', 'label_texts',
    'tag_prf', 'ce_scores', 'ce_item_scores', 'compute_ce_scores',
    'compute_ce_scores_per_item', 'compute_ce_scores_with_items',
    'NLG_METRICS', 'NLG_SCORE_KEYS', 'compute_nlg_scores',
    'compute_nlg_scores_per_item', 'compute_nlg_scores_with_items',
    'normalize_nlg_metrics', 'EVAL_TOKENIZERS', 'JavaNotFoundError',
    'check_eval_tokenizer', 'require_java', 'tokenize_for_eval', 'box_iou',
    'centred_box_like', 'max_iou_with_lesions', 'region_iou_report',
    'UNDETERMINED', 'CONCLUSION_PRESETS', 'COVCTR_CONCLUSIONS',
    'COVCTR_CLASS_NAMES', 'ConclusionMatch', 'ConclusionExtractor',
    'build_conclusion_extractor', 'keyword_regex', 'sentence_regex',
    'strip_conclusion', 'rank_images', 'conclusion_recall_at_k', 'CiderD',
    'ngram_counts'
]
