# Copyright (c) rrgkit contributors. All rights reserved.
"""Linear probes of a backbone's pooled features.

Does the image encoder see the findings? Pool the backbone's last feature
map over every training and validation image (no augmentation), fit one
L2-regularised logistic regression per target (the conclusion label and
each mined tag) on the training features, and score the validation
features by ROC-AUC. The regularisation strength is chosen by k-fold
cross-validation on the training split alone.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from rrgkit.evaluation.metrics.tag_auc import binary_auc
from rrgkit.models.utils.visual_features import pool_feature_map

__all__ = [
    'pooled_features', 'probe_targets', 'fit_logistic', 'cv_choose_l2',
    'probe_scores', 'describe'
]

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


@torch.no_grad()
def pooled_features(backbone: torch.nn.Module, preprocessor,
                    batches: Iterable[dict]) -> Tuple[torch.Tensor, list]:
    """Global-average-pooled last feature map of every image.

    Args:
        backbone (nn.Module): Image -> feature map(s); the last is pooled.
        preprocessor: The model's data preprocessor (normalisation).
        batches (Iterable[dict]): Dataloader batches of a report dataset.

    Returns:
        tuple: ``(N, D)`` features (views averaged) and the data samples.
    """
    backbone.eval()
    feats, samples = [], []
    for batch in batches:
        data = preprocessor(batch, False)
        inputs = data['inputs']
        views = inputs.shape[1] if inputs.dim() == 5 else 1
        images = inputs.flatten(0, 1) if inputs.dim() == 5 else inputs
        out = backbone(images)
        fmap = out[-1] if isinstance(out, (list, tuple)) else out
        feats.append(pool_feature_map(fmap.float(), views).global_feat)
        samples.extend(data['data_samples'])
    if not feats:
        raise ValueError('pooled_features: the split has no images')
    return torch.cat(feats), samples


def probe_targets(samples: Sequence) -> Dict[str, Optional[np.ndarray]]:
    """``label`` ``(N,)`` and ``tags`` ``(N, T)`` arrays of the samples
    (None where the samples lack them)."""
    out: Dict[str, Optional[np.ndarray]] = dict(label=None, tags=None)
    if samples and all('gt_label' in s for s in samples):
        out['label'] = np.array([int(s.gt_label) for s in samples])
    if samples and all('gt_tags' in s for s in samples):
        out['tags'] = np.stack([s.gt_tags.cpu().numpy() for s in samples])
    return out


def fit_logistic(x: torch.Tensor, y: torch.Tensor, l2: float,
                 steps: int = 100) -> Tuple[torch.Tensor, torch.Tensor]:
    """Independent L2-regularised logistic regressions, one per column.

    Args:
        x (Tensor): ``(N, D)`` standardised features.
        y (Tensor): ``(N, K)`` 0/1 targets.
        l2 (float): Weight of ``0.5 * ||w||^2`` per column (bias free).
        steps (int): L-BFGS iterations. Defaults to 100.

    Returns:
        tuple: Weights ``(D, K)`` and biases ``(K,)``.
    """
    x, y = x.double(), y.double()
    w = torch.zeros(x.shape[1], y.shape[1], dtype=torch.float64,
                    requires_grad=True)
    b = torch.zeros(y.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=steps,
                            line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(
            x @ w + b, y, reduction='sum') / len(x)
        loss = loss + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def _mean_auc(scores: np.ndarray, targets: np.ndarray) -> float:
    aucs = [
        binary_auc(scores[:, k], targets[:, k])
        for k in range(targets.shape[1])
        if 0 < targets[:, k].sum() < len(targets)
    ]
    return float(np.mean(aucs)) if aucs else float('nan')


def cv_choose_l2(x: torch.Tensor, y: np.ndarray, folds: int = 3,
                 grid: Sequence[float] = L2_GRID, seed: int = 0) -> float:
    """The L2 weight with the best mean AUC in k-fold CV on ``(x, y)``."""
    order = np.random.RandomState(seed).permutation(len(x))
    best, best_auc = grid[0], -1.0
    for l2 in grid:
        aucs = []
        for k in range(folds):
            held = order[k::folds]
            kept = np.setdiff1d(order, held)
            w, b = fit_logistic(x[kept], torch.from_numpy(y[kept]), l2)
            scores = (x[held].double() @ w + b).numpy()
            auc = _mean_auc(scores, y[held])
            if not np.isnan(auc):
                aucs.append(auc)
        if aucs and np.mean(aucs) > best_auc:
            best, best_auc = l2, float(np.mean(aucs))
    return best


def probe_scores(train_x: torch.Tensor, train_targets: Dict,
                 eval_x: torch.Tensor, eval_targets: Dict,
                 folds: int = 3) -> Dict[str, float]:
    """Validation AUC of linear probes for the label and the tags.

    Args:
        train_x (Tensor): ``(N, D)`` training features.
        train_targets (dict): :func:`probe_targets` of the training split.
        eval_x (Tensor): ``(M, D)`` evaluated features.
        eval_targets (dict): :func:`probe_targets` of the evaluated split.
        folds (int): Cross-validation folds for the L2 weight.

    Returns:
        dict: ``label_AUC``, ``tags_AUC`` (macro over tags with both
        classes in the evaluated split), ``num_tags`` and the chosen
        ``*_l2``, for the targets both splits have.
    """
    mean = train_x.mean(0)
    std = train_x.std(0).clamp_min(1e-6)
    tx, ex = (train_x - mean) / std, (eval_x - mean) / std
    out: Dict[str, float] = {}
    for name in ('label', 'tags'):
        y, ey = train_targets.get(name), eval_targets.get(name)
        if y is None or ey is None:
            continue
        y = y.reshape(len(y), -1).astype(np.float64)
        ey = ey.reshape(len(ey), -1)
        keep = (y.sum(0) > 0) & (y.sum(0) < len(y))  # learnable columns
        if not keep.any():
            continue
        y, ey = y[:, keep], ey[:, keep]
        l2 = cv_choose_l2(tx, y, folds)
        w, b = fit_logistic(tx, torch.from_numpy(y), l2)
        scores = (ex.double() @ w + b).numpy()
        out[f'{name}_AUC'] = _mean_auc(scores, ey)
        out[f'{name}_l2'] = l2
        if name == 'tags':
            out['num_tags'] = float(
                sum(0 < ey[:, k].sum() < len(ey) for k in range(ey.shape[1])))
    return out


def describe(scores: Dict[str, float]) -> List[str]:
    """Readable lines of :func:`probe_scores`' result."""
    lines = []
    if 'label_AUC' in scores:
        lines.append(f'label AUC {scores["label_AUC"]:.3f} '
                     f'(l2 {scores["label_l2"]:g})')
    if 'tags_AUC' in scores:
        lines.append(f'macro tag AUC {scores["tags_AUC"]:.3f} over '
                     f'{int(scores["num_tags"])} tags '
                     f'(l2 {scores["tags_l2"]:g})')
    return lines
