# Copyright (c) rrgkit contributors. All rights reserved.
"""Sanity baselines every results table shows.

* **most frequent**: every image gets the most frequent training report;
* **nearest neighbour**: every image gets the report of the most similar
  training image, similarity = cosine of standardised grayscale
  thumbnails (no learned feature, so the baseline needs no training).

Both are scored exactly like a model: reports normalised by the config's
tokenizer, the evaluation tokenization of its ``ReportMetric``.
"""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

from rrgkit.engine.hooks.reference_baseline_hook import most_frequent_report
from rrgkit.evaluation.functional import compute_nlg_scores
from rrgkit.models.utils.memory_bank import top_k_similar

__all__ = ['thumbnail_features', 'nearest_neighbour_indices',
           'sanity_baseline_scores']


def _image_tensor(inputs: torch.Tensor) -> torch.Tensor:
    """``(C, H, W)`` or ``(V, C, H, W)`` -> grayscale ``(1, 1, H, W)``."""
    img = inputs.float()
    if img.dim() == 4:  # several views: the first one
        img = img[0]
    return img.mean(0, keepdim=True).unsqueeze(0)


def thumbnail_features(dataset, size: int = 16) -> Tuple[torch.Tensor, list]:
    """Standardised grayscale thumbnails and data samples of a dataset.

    Args:
        dataset: A report dataset whose pipeline packs ``inputs`` and
            ``data_samples``.
        size (int): Thumbnail side. Defaults to 16.

    Returns:
        tuple: ``(N, size * size)`` features with zero mean and unit norm
        per image, and the ``N`` data samples.
    """
    feats, samples = [], []
    for i in range(len(dataset)):
        item = dataset[i]
        thumb = F.adaptive_avg_pool2d(_image_tensor(item['inputs']),
                                      (size, size)).flatten()
        thumb = thumb - thumb.mean()
        feats.append(thumb / thumb.norm().clamp_min(1e-8))
        samples.append(item['data_samples'])
    if not feats:
        raise ValueError('thumbnail_features: the dataset is empty')
    return torch.stack(feats), samples


def nearest_neighbour_indices(train: torch.Tensor,
                              query: torch.Tensor) -> torch.Tensor:
    """Index of the most similar training row for every query row.

    Ties go to the lower training index.
    """
    return top_k_similar(query, train, 1)[1][:, 0]


def sanity_baseline_scores(train_reports: Sequence[str],
                           train_feats: torch.Tensor,
                           eval_refs: Sequence[Sequence[str]],
                           eval_feats: torch.Tensor,
                           eval_ids: Sequence,
                           eval_tokenizer: str = 'ptb'
                           ) -> Dict[str, Dict[str, object]]:
    """Scores and outputs of both baselines on one evaluation split.

    Args:
        train_reports (Sequence[str]): Normalised training reports.
        train_feats (Tensor): Their image features.
        eval_refs (Sequence[Sequence[str]]): Normalised references of each
            evaluated image.
        eval_feats (Tensor): Features of the evaluated images.
        eval_ids (Sequence): Their ids.
        eval_tokenizer (str): Evaluation tokenization. Defaults to 'ptb'.

    Returns:
        dict: ``{'most_frequent': {...}, 'nearest_neighbour': {...}}``,
        each with ``metrics`` (``report/<score>``) and ``records`` (id,
        generated, reference).
    """
    refs = {i: list(r) for i, r in enumerate(eval_refs)}
    frequent = most_frequent_report(train_reports)
    nn_index = nearest_neighbour_indices(train_feats, eval_feats)
    outputs = {
        'most_frequent': [frequent] * len(refs),
        'nearest_neighbour': [train_reports[int(j)] for j in nn_index],
    }
    results: Dict[str, Dict[str, object]] = {}
    for name, preds in outputs.items():
        scores = compute_nlg_scores(dict(enumerate(preds)), refs,
                                    eval_tokenizer=eval_tokenizer)
        records: List[dict] = [
            dict(id=str(eval_ids[i]), generated=preds[i],
                 reference=refs[i][0] if len(refs[i]) == 1 else refs[i])
            for i in range(len(preds))
        ]
        results[name] = dict(
            metrics={f'report/{k}': float(v) for k, v in scores.items()},
            records=records)
    return results
