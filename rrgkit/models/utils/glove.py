# Copyright (c) rrgkit contributors. All rights reserved.
"""GloVe word vectors (Pennington et al., 2014) trained on report corpora.

GloVe fits ``w_i . w~_j + b_i + b~_j ~ log X_ij`` by weighted least squares
over the non-zero co-occurrence counts ``X_ij``, with the weight
``f(x) = min(1, (x / x_max) ** alpha)``. Counts are window-weighted: a pair
``d`` tokens apart adds ``1 / d``. The word vectors are ``W + W~``.

Everything runs on the CPU in torch/numpy and is deterministic given the
seed. ASGK initialises its decoder's word embedding with such vectors trained
on the dataset's own reports (``tools/train_glove.py``).
"""
import json
import os
import os.path as osp
from typing import List, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch

__all__ = [
    'Cooccurrence', 'build_cooccurrence', 'glove_loss', 'train_glove',
    'load_word_vectors'
]


class Cooccurrence(NamedTuple):
    """Sparse co-occurrence counts: ``X[rows[k], cols[k]] = counts[k]``.

    Sorted by ``(row, col)``, each pair once, only non-zero counts.
    """
    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray


def build_cooccurrence(token_id_lists: Sequence[Sequence[int]],
                       vocab_size: int,
                       window: int = 10) -> Cooccurrence:
    """Count window-weighted co-occurrences within each sequence.

    For every two tokens ``d <= window`` positions apart in the same
    sequence (a report), ``1 / d`` is added to both ``X[a, b]`` and
    ``X[b, a]`` (GloVe's symmetric window). A token repeated ``d`` apart
    thus adds ``2 / d`` to its diagonal entry. Windows never cross
    sequences.

    Args:
        token_id_lists (Sequence[Sequence[int]]): One id sequence per
            report.
        vocab_size (int): ``V``; every id must be in ``[0, V)``.
        window (int): Maximum distance. Defaults to 10.

    Returns:
        Cooccurrence: ``rows``/``cols`` (int64) and ``counts`` (float64).
    """
    if window < 1:
        raise ValueError(f'window must be >= 1, got {window}')
    seqs = [np.asarray(s, dtype=np.int64).reshape(-1)
            for s in token_id_lists]
    ids = np.concatenate(seqs) if seqs else np.zeros(0, np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f'token ids must be in [0, {vocab_size}); got ids '
                         f'from {ids.min()} to {ids.max()}')
    doc = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
    left, right, weights = [], [], []
    for d in range(1, window + 1):
        same = doc[:-d] == doc[d:]
        if not same.any():
            break
        a, b = ids[:-d][same], ids[d:][same]
        left += [a, b]
        right += [b, a]
        weights.append(np.full(2 * a.size, 1.0 / d))
    if not left:
        empty = np.zeros(0, np.int64)
        return Cooccurrence(empty, empty.copy(), np.zeros(0, np.float64))
    keys = np.concatenate(left) * vocab_size + np.concatenate(right)
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate(weights))
    return Cooccurrence(uniq // vocab_size, uniq % vocab_size, counts)


def glove_loss(vectors: torch.Tensor, contexts: torch.Tensor,
               bias: torch.Tensor, context_bias: torch.Tensor,
               rows: torch.Tensor, cols: torch.Tensor,
               log_counts: torch.Tensor,
               weights: torch.Tensor) -> torch.Tensor:
    """Summed GloVe loss ``sum f(X) (w . w~ + b + b~ - log X) ** 2``.

    Args:
        vectors (Tensor): ``(V, dim)`` word vectors ``W``.
        contexts (Tensor): ``(V, dim)`` context vectors ``W~``.
        bias (Tensor): ``(V,)`` word biases.
        context_bias (Tensor): ``(V,)`` context biases.
        rows (Tensor): ``(N,)`` word ids of the pairs.
        cols (Tensor): ``(N,)`` context ids of the pairs.
        log_counts (Tensor): ``(N,)`` ``log X``.
        weights (Tensor): ``(N,)`` ``f(X)``.

    Returns:
        Tensor: The scalar loss.
    """
    pred = (vectors[rows] * contexts[cols]).sum(-1) + bias[rows] \
        + context_bias[cols]
    return (weights * (pred - log_counts).pow(2)).sum()


def train_glove(cooc: Cooccurrence,
                vocab_size: int,
                dim: int = 300,
                epochs: int = 50,
                lr: float = 0.05,
                seed: int = 0,
                x_max: float = 100.0,
                alpha: float = 0.75,
                batch_size: int = 512,
                history: Optional[List[float]] = None) -> np.ndarray:
    """Fit GloVe vectors with mini-batch AdaGrad (as the reference code).

    Parameters start uniform in ``[-0.5, 0.5] / dim`` and AdaGrad's
    accumulators at 1, as in the original implementation; the pairs are
    shuffled every epoch with a generator seeded by ``seed``, so the result
    is the same for the same inputs and seed.

    Args:
        cooc (Cooccurrence): From :func:`build_cooccurrence` (any
            ``(rows, cols, counts)`` triple of positive counts).
        vocab_size (int): ``V``.
        dim (int): Vector size. Defaults to 300.
        epochs (int): Passes over the non-zero pairs. Defaults to 50.
        lr (float): AdaGrad learning rate. Defaults to 0.05.
        seed (int): Seed of initialisation and shuffling. Defaults to 0.
        x_max (float): Count where the weight reaches 1. Defaults to 100.
        alpha (float): Exponent of the weighting. Defaults to 0.75.
        batch_size (int): Pairs per update. Defaults to 512.
        history (list, optional): If given, the mean weighted loss per pair
            of each epoch is appended to it. Defaults to None.

    Returns:
        np.ndarray: ``(V, dim)`` float32 vectors ``W + W~``; ids without any
        co-occurrence keep their (tiny) random initial values.
    """
    rows, cols, counts = (np.asarray(a).reshape(-1) for a in cooc)
    rows, cols = rows.astype(np.int64), cols.astype(np.int64)
    if not rows.size == cols.size == counts.size:
        raise ValueError('train_glove: rows, cols and counts differ in '
                         'length')
    if counts.size == 0:
        raise ValueError('train_glove: the co-occurrence matrix is empty '
                         '(no sequence has two tokens); check the corpus.')
    if (counts <= 0).any():
        raise ValueError('train_glove: co-occurrence counts must be > 0')
    if min(rows.min(), cols.min()) < 0 or max(rows.max(),
                                              cols.max()) >= vocab_size:
        raise ValueError(f'train_glove: ids must be in [0, vocab_size='
                         f'{vocab_size})')
    # The updates are tiny: one thread is fastest, and far faster than
    # several threads on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.enable_grad():
            vectors = _fit(rows, cols, counts, vocab_size, dim, epochs, lr,
                           seed, x_max, alpha, batch_size, history)
    finally:
        torch.set_num_threads(threads)
    return vectors


def _fit(rows: np.ndarray, cols: np.ndarray, counts: np.ndarray,
         vocab_size: int, dim: int, epochs: int, lr: float, seed: int,
         x_max: float, alpha: float, batch_size: int,
         history: Optional[List[float]]) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    params = [(torch.rand(vocab_size, dim, generator=gen, dtype=torch.float64)
               - 0.5) / dim for _ in range(2)]
    params += [(torch.rand(vocab_size, generator=gen, dtype=torch.float64)
                - 0.5) / dim for _ in range(2)]
    for p in params:
        p.requires_grad_(True)
    optim = torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=1.0)
    rows_t, cols_t = torch.from_numpy(rows), torch.from_numpy(cols)
    counts_t = torch.from_numpy(counts.astype(np.float64))
    log_counts = counts_t.log()
    weights = (counts_t / x_max).pow(alpha).clamp(max=1.0)
    n = counts_t.numel()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = glove_loss(*params, rows_t[idx], cols_t[idx],
                              log_counts[idx], weights[idx])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            total += loss.item()
        if history is not None:
            history.append(total / n)
    with torch.no_grad():
        out = params[0] + params[1]
    return out.numpy().astype(np.float32)


def _load_matrix(source: Union[str, os.PathLike]) -> torch.Tensor:
    path = os.fspath(source)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'word vector file {path!r} does not exist; create it with '
            'tools/train_glove.py CONFIG --out vectors.npy')
    if path.endswith('.npy'):
        return torch.from_numpy(np.load(path, allow_pickle=False))
    if path.endswith(('.pt', '.pth')):
        obj = torch.load(path, map_location='cpu', weights_only=True)
        if not isinstance(obj, torch.Tensor):
            raise ValueError(f'word vector file {path!r} must hold one '
                             f'tensor, got {type(obj).__name__}')
        return obj
    raise ValueError(f'word vector file {path!r}: expected a .npy or .pt '
                     'file')


def load_word_vectors(source: Union[str, os.PathLike, np.ndarray,
                                    torch.Tensor],
                      vocab_size: Optional[int] = None,
                      vocab_hash: Optional[str] = None) -> torch.Tensor:
    """Load a ``(V, d)`` word vector matrix and check it fits the vocabulary.

    A file written by ``tools/train_glove.py`` has a JSON sidecar
    (``vectors.json`` next to ``vectors.npy``); when present, its
    ``vocab_size`` and ``vocab_hash`` are checked as well.

    Args:
        source (str | PathLike | ndarray | Tensor): A ``.npy``/``.pt`` file
            or the matrix itself.
        vocab_size (int, optional): Expected number of rows (the
            tokenizer's vocabulary size). Defaults to None (not checked).
        vocab_hash (str, optional): The tokenizer's ``vocab_hash``, compared
            with the sidecar's (only for files that have one). Defaults to
            None (not checked).

    Returns:
        Tensor: ``(V, d)`` float32 matrix.
    """
    name = 'the given word vectors'
    if isinstance(source, (str, os.PathLike)):
        name = f'word vector file {os.fspath(source)!r}'
        matrix = _load_matrix(source)
    elif isinstance(source, np.ndarray):
        matrix = torch.from_numpy(source)
    elif isinstance(source, torch.Tensor):
        matrix = source.detach().cpu()
    else:
        raise TypeError(f'word_vectors must be a path, ndarray or tensor, '
                        f'got {type(source).__name__}')
    if matrix.dim() != 2 or not matrix.is_floating_point():
        raise ValueError(f'{name} must be a 2-D float matrix (V, d), got '
                         f'shape {tuple(matrix.shape)} ({matrix.dtype})')
    if not torch.isfinite(matrix).all():
        raise ValueError(f'{name} contains NaN or infinite values')
    if vocab_size is not None and matrix.shape[0] != vocab_size:
        raise ValueError(
            f'{name} has {matrix.shape[0]} rows but the vocabulary has '
            f'{vocab_size} tokens; retrain them with tools/train_glove.py '
            'on the same tokenizer config.')
    if isinstance(source, (str, os.PathLike)):
        sidecar = osp.splitext(os.fspath(source))[0] + '.json'
        if osp.isfile(sidecar):
            with open(sidecar, encoding='utf-8') as f:
                meta = json.load(f)
            if meta.get('vocab_size', matrix.shape[0]) != matrix.shape[0]:
                raise ValueError(f'{sidecar}: vocab_size '
                                 f'{meta["vocab_size"]} does not match the '
                                 f'{matrix.shape[0]} rows of {name}')
            if vocab_hash is not None and meta.get('vocab_hash') not in (
                    None, vocab_hash):
                raise ValueError(
                    f'{name} was trained for vocabulary {meta["vocab_hash"]}'
                    f' ({sidecar}) but the tokenizer has {vocab_hash}; '
                    'retrain them with tools/train_glove.py.')
    return matrix.float().contiguous()
