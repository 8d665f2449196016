# Copyright (c) rrgkit contributors. All rights reserved.
from .nlg import (NLG_METRICS, NLG_SCORE_KEYS, compute_nlg_scores,
                  compute_nlg_scores_per_item, compute_nlg_scores_with_items,
                  normalize_nlg_metrics)
from .region_iou import (box_iou, centred_box_like, max_iou_with_lesions,
                         region_iou_report)
from .text_tokenize import (EVAL_TOKENIZERS, JavaNotFoundError,
                            check_eval_tokenizer, require_java,
                            tokenize_for_eval)

__all__ = [
    'NLG_METRICS', 'NLG_SCORE_KEYS', 'compute_nlg_scores',
    'compute_nlg_scores_per_item', 'compute_nlg_scores_with_items',
    'normalize_nlg_metrics', 'EVAL_TOKENIZERS', 'JavaNotFoundError',
    'check_eval_tokenizer', 'require_java', 'tokenize_for_eval', 'box_iou',
    'centred_box_like', 'max_iou_with_lesions', 'region_iou_report'
]
