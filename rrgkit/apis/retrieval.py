# Copyright (c) rrgkit contributors. All rights reserved.
"""Symptom-description retrieval (MDNet's Cr@k) with a trained model.

Every test report, with its conclusion removed, is a query; the model ranks
the test images by the likelihood of the query's descriptions given the
image, and Cr@k counts the share of the top ``k`` images whose diagnostic
conclusion equals the query's.
"""
from typing import Dict, Iterable, List, Optional, Sequence

import torch

from rrgkit.evaluation.functional.retrieval import (conclusion_recall_at_k,
                                                    strip_conclusion)
from rrgkit.models.utils.visual_features import VisualFeatures

__all__ = ['collect_visual_features', 'description_retrieval']


def _cat_visual(parts: List[VisualFeatures]) -> VisualFeatures:
    first = parts[0]
    extras = {}
    for key, value in first.extras.items():
        if isinstance(value, torch.Tensor) and value.dim():
            extras[key] = torch.cat([p.extras[key] for p in parts])
    return VisualFeatures(
        torch.cat([p.global_feat for p in parts]),
        torch.cat([p.tokens for p in parts]),
        None if first.feat_map is None else torch.cat(
            [p.feat_map for p in parts]),
        extras)


@torch.no_grad()
def collect_visual_features(model, batches: Iterable[dict]):
    """Image features and ground truth of a whole split.

    Args:
        model: A report generator (``data_preprocessor``, ``extract_feat``).
        batches (Iterable[dict]): Dataloader batches.

    Returns:
        tuple: ``VisualFeatures`` of every image (model in eval mode, so
        an AAS proposer uses its predicted class) and the data samples.
    """
    model.eval()
    parts, samples = [], []
    for batch in batches:
        data = model.data_preprocessor(batch, False)
        visual, _ = model.extract_feat(data['inputs'])
        parts.append(visual)
        samples.extend(data['data_samples'])
    if not parts:
        raise ValueError('description_retrieval: the split has no images')
    return _cat_visual(parts), samples


@torch.no_grad()
def description_retrieval(model,
                          batches: Iterable[dict],
                          conclusion='covctr_en',
                          ks: Sequence[int] = (1, 5, 10),
                          max_queries: Optional[int] = None
                          ) -> Dict[str, float]:
    """Cr@k of a task-duplicated model on one split.

    Args:
        model (TaskDuplicatedGenerator): The trained model.
        batches (Iterable[dict]): Dataloader batches of the split; samples
            need ``gt_descriptions`` and ``gt_label``.
        conclusion: What :func:`strip_conclusion` removes from each query
            description (a preset name, an extractor or a word list).
        ks (Sequence[int]): Cut-offs. Defaults to ``(1, 5, 10)``.
        max_queries (int, optional): Use only the first queries (for quick
            checks); all images are always ranked.

    Returns:
        dict: ``Cr@k`` for each k up to the number of images (larger k
        are left out), ``num_queries``, ``num_images`` and
        ``chance`` (the share of images sharing a query's conclusion,
        averaged over queries: what a random ranking scores in
        expectation).
    """
    visual, samples = collect_visual_features(model, batches)
    labels = []
    for i, sample in enumerate(samples):
        if 'gt_label' not in sample or sample.get('gt_descriptions') is None:
            where = sample.get('img_path', f'sample {i}')
            raise ValueError(
                f'{where} lacks gt_label or gt_descriptions: retrieval needs '
                'a dataset with labels and a report splitter.')
        labels.append(int(sample.gt_label))
    queries = samples if max_queries is None else samples[:max_queries]
    rows = []
    for sample in queries:
        descs = [strip_conclusion(str(d), conclusion)
                 for d in sample.gt_descriptions]
        rows.append(model.score_descriptions(visual, descs))
    scores = torch.stack(rows)
    query_labels = labels[:len(queries)]
    usable = [k for k in ks if k <= len(labels)]
    if not usable:
        raise ValueError(f'description_retrieval: every k in {tuple(ks)} '
                         f'exceeds the {len(labels)} images of the split')
    result = dict(conclusion_recall_at_k(scores, query_labels, labels,
                                         usable))
    label_tensor = torch.tensor(labels)
    chance = sum(float((label_tensor == q).float().mean())
                 for q in query_labels) / len(query_labels)
    result.update(num_queries=len(queries), num_images=len(labels),
                  chance=chance)
    return result
