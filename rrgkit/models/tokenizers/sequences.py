# Copyright (c) rrgkit contributors. All rights reserved.
"""Token-id sequences: add specials and truncate, decode, pad a batch.

These helpers take the vocabulary as plain arguments (a token tuple or a
token -> id mapping), so :class:`~.report_tokenizer.ReportTokenizer` only
tokenizes text and delegates the id bookkeeping here.
"""
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

import torch

from .vocab_io import BOS_ID, EOS_ID, FIX_HINT, PAD_ID, UNK_ID

__all__ = ['tokens_to_ids', 'ids_to_tokens', 'pad_id_sequences']


def tokens_to_ids(tokens: Iterable[str], token_to_id: Mapping[str, int],
                  add_special: bool, limit: Optional[int]) -> List[int]:
    """Map tokens to ids, unknown -> ``<unk>``, then add specials/truncate.

    Args:
        tokens (Iterable[str]): The tokens of one report.
        token_to_id (Mapping[str, int]): The vocabulary index.
        add_special (bool): Wrap in ``<bos>``/``<eos>``.
        limit (int, optional): Maximum length including specials; a
            truncated sequence still ends with ``<eos>``. None for no limit.

    Returns:
        list[int]: The ids.
    """
    ids = [token_to_id.get(t, UNK_ID) for t in tokens]
    if limit is not None and (isinstance(limit, bool)
                              or not isinstance(limit, int)
                              or limit < (2 if add_special else 1)):
        raise ValueError(f'max_len={limit!r} is too small: it must be an '
                         f'int >= {2 if add_special else 1}')
    if add_special:
        ids = [BOS_ID] + ids + [EOS_ID]
        if limit is not None and len(ids) > limit:
            ids = ids[:limit - 1] + [EOS_ID]
    elif limit is not None:
        ids = ids[:limit]
    return ids


def ids_to_tokens(ids: Iterable[int], tokens: Sequence[str],
                  skip_special: bool) -> List[str]:
    """Map one id sequence back to tokens.

    Args:
        ids (Iterable[int] | Tensor | int): One sequence of ids.
        tokens (Sequence[str]): The vocabulary in id order.
        skip_special (bool): Stop at the first ``<eos>`` and skip
            ``<pad>``/``<bos>`` (``<unk>`` stays visible).

    Returns:
        list[str]: The tokens.
    """
    if hasattr(ids, 'tolist'):
        ids = ids.tolist()
    if isinstance(ids, int):
        ids = [ids]
    out = []
    for i in ids:
        if isinstance(i, (list, tuple)):
            raise TypeError('decode takes one sequence; use batch_decode '
                            'for a batch')
        i = int(i)
        if not 0 <= i < len(tokens):
            raise ValueError(f'token id {i} is outside the vocabulary '
                             f'(size {len(tokens)}); the model and the '
                             f'vocabulary do not match. {FIX_HINT}')
        if skip_special and i == EOS_ID:
            break
        if skip_special and i in (PAD_ID, BOS_ID):
            continue
        out.append(tokens[i])
    return out


def pad_id_sequences(
        seqs: Sequence[Sequence[int]]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Stack id sequences into a ``<pad>``-padded ``LongTensor [B, T]``.

    Args:
        seqs (Sequence[Sequence[int]]): The sequences.

    Returns:
        tuple[Tensor, Tensor]: The ids ``[B, T]`` (T = longest) and the
        lengths ``[B]``.
    """
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    ids = torch.full((len(seqs), max(map(len, seqs), default=0)),
                     PAD_ID,
                     dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
    return ids, lengths
