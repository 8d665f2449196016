# Copyright (c) rrgkit contributors. All rights reserved.
"""Greedy and batched beam-search decoding for any rrgkit decoder.

A decoder takes part in decoding through two methods:

* ``init_state(visual) -> state``: the state before the first word, a
  (nested) dict/tuple of tensors whose first dimension is the batch;
* ``step(tokens, state) -> (log_probs, state)``: one step, ``tokens`` of
  shape ``(B,)``, ``log_probs`` of shape ``(B, vocab_size)``.

Beam search reorders the state with :func:`index_state`, so decoders never
need to know about beams.
"""
from typing import Any, Callable

import torch

__all__ = ['index_state', 'greedy_decode', 'beam_search']


def index_state(state: Any, index: torch.Tensor) -> Any:
    """Select batch rows of every tensor in a nested state.

    Args:
        state (Any): Tensors, or dicts/lists/tuples of them (``None`` and
            non-tensor leaves are kept as they are).
        index (Tensor): ``(B',)`` row indices.

    Returns:
        Any: The state with the same structure, rows selected.
    """
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index)
    if isinstance(state, dict):
        return {k: index_state(v, index) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(index_state(v, index) for v in state)
    return state


@torch.no_grad()
def greedy_decode(init_state: Callable, step: Callable, batch_size: int,
                  bos_id: int, eos_id: int, max_len: int,
                  device: torch.device) -> torch.Tensor:
    """Pick the most likely word at every step.

    Args:
        init_state (Callable): ``() -> state`` for the batch.
        step (Callable): The decoder's ``step``.
        batch_size (int): ``B``.
        bos_id (int): Begin-of-sequence id fed first.
        eos_id (int): End-of-sequence id.
        max_len (int): Maximum number of generated tokens.
        device (torch.device): Device of the token tensors.

    Returns:
        Tensor: ``(B, L)`` generated ids (``L <= max_len``), rows that ended
        early are padded with ``eos_id``.
    """
    state = init_state()
    tokens = torch.full((batch_size, ), bos_id, dtype=torch.long,
                        device=device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)
    out = []
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        tokens = log_probs.argmax(-1)
        tokens = tokens.masked_fill(finished, eos_id)
        out.append(tokens)
        finished |= tokens == eos_id
        if bool(finished.all()):
            break
    return torch.stack(out, 1)


@torch.no_grad()
def beam_search(init_state: Callable, step: Callable, batch_size: int,
                bos_id: int, eos_id: int, max_len: int, device: torch.device,
                beam_size: int = 3, length_penalty: float = 0.0) -> torch.Tensor:
    """Beam search, batched over images and beams.

    All ``B * K`` hypotheses advance in one ``step`` call. A finished
    hypothesis keeps its score and only extends with ``eos``. The final
    choice divides each score by ``length ** length_penalty``.

    Args:
        init_state (Callable): ``() -> state`` for the batch of ``B``.
        step (Callable): The decoder's ``step``.
        batch_size (int): ``B``.
        bos_id (int): Begin-of-sequence id fed first.
        eos_id (int): End-of-sequence id.
        max_len (int): Maximum number of generated tokens.
        device (torch.device): Device of the token tensors.
        beam_size (int): ``K``. Defaults to 3.
        length_penalty (float): Exponent of the length normalisation;
            0 ranks by total log-probability. Defaults to 0.

    Returns:
        Tensor: ``(B, L)`` ids of the best hypothesis per image.
    """
    B, K = batch_size, beam_size
    state = index_state(init_state(),
                        torch.arange(B, device=device).repeat_interleave(K))
    tokens = torch.full((B * K, ), bos_id, dtype=torch.long, device=device)
    scores = torch.full((B, K), float('-inf'), device=device)
    scores[:, 0] = 0.0  # all beams start identical: expand only the first
    seqs = torch.empty((B * K, 0), dtype=torch.long, device=device)
    finished = torch.zeros(B * K, dtype=torch.bool, device=device)
    offsets = (torch.arange(B, device=device) * K).unsqueeze(1)
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        log_probs = log_probs.float()
        V = log_probs.shape[-1]
        if bool(finished.any()):
            done = torch.full_like(log_probs[0], float('-inf'))
            done[eos_id] = 0.0
            log_probs = torch.where(finished.unsqueeze(1), done, log_probs)
        cand = (scores.view(-1, 1) + log_probs).view(B, K * V)
        scores, flat_idx = cand.topk(K, dim=1)
        beam_idx = torch.div(flat_idx, V, rounding_mode='floor')
        tokens = (flat_idx % V).view(-1)
        rows = (offsets + beam_idx).view(-1)
        state = index_state(state, rows)
        seqs = torch.cat([seqs.index_select(0, rows), tokens[:, None]], 1)
        finished = finished.index_select(0, rows) | (tokens == eos_id)
        if bool(finished.all()):
            break
    # Length = tokens up to and including the first eos.
    is_eos = seqs == eos_id
    first_eos = torch.where(is_eos.any(1), is_eos.float().argmax(1),
                            torch.full_like(is_eos[:, 0], seqs.shape[1] - 1,
                                            dtype=torch.long))
    lengths = (first_eos + 1).float().view(B, K)
    ranked = scores / lengths.pow(length_penalty)
    best = ranked.argmax(1)
    return seqs.index_select(0, (offsets.squeeze(1) + best))
