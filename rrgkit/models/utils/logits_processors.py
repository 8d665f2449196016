# Copyright (c) rrgkit contributors. All rights reserved.
"""The processing of one decoding step's log-probabilities.

Greedy decoding, sampling and beam search all call the processor built by
:func:`make_processor` on every step, before choosing tokens, so each
decoding control is written once:

* ``no_repeat_ngram_size = n``: a token that would complete an n-gram the
  hypothesis has already generated gets ``-inf`` (as fairseq and
  Hugging Face ``no_repeat_ngram_size``);
* ``min_length = m``: ``<eos>`` gets ``-inf`` while fewer than ``m`` tokens
  have been generated;
* sampling only: ``temperature``, then ``top_k`` (keep the ``k`` most
  likely tokens), then ``top_p`` (keep the smallest set of most likely
  tokens whose probability reaches ``p``); the result is renormalised.

A processor is ``(log_probs, seqs) -> log_probs`` with ``log_probs`` of
shape ``(N, V)`` for the next token of ``N`` hypotheses and ``seqs`` of
shape ``(N, t)``, the tokens each generated so far (``<bos>`` excluded).
"""
from typing import Callable, Optional

import torch

__all__ = [
    'Processor', 'block_repeated_ngrams', 'block_early_eos',
    'warp_for_sampling', 'make_processor'
]

Processor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def block_repeated_ngrams(log_probs: torch.Tensor, seqs: torch.Tensor,
                          n: int) -> torch.Tensor:
    """Forbid the tokens that would repeat an n-gram of the hypothesis.

    Args:
        log_probs (Tensor): ``(N, V)`` next-token log-probabilities.
        seqs (Tensor): ``(N, t)`` generated tokens.
        n (int): N-gram size; 0 turns the blocking off.

    Returns:
        Tensor: ``log_probs`` with ``-inf`` for every token ``w`` such that
        ``seqs[-(n-1):] + [w]`` already occurs in ``seqs``.
    """
    t = seqs.shape[1]
    if n < 1 or t < n:
        return log_probs
    grams = seqs.unfold(1, n, 1)  # (N, t - n + 1, n): every n-gram so far
    prefix = seqs[:, t - n + 1:].unsqueeze(1)  # the last n - 1 tokens
    rows, starts = (grams[..., :-1] == prefix).all(-1).nonzero(as_tuple=True)
    if rows.numel() == 0:
        return log_probs
    banned = torch.zeros_like(log_probs, dtype=torch.bool)
    banned[rows, grams[rows, starts, -1]] = True
    return log_probs.masked_fill(banned, float('-inf'))


def block_early_eos(log_probs: torch.Tensor, seqs: torch.Tensor, eos_id: int,
                    min_length: int) -> torch.Tensor:
    """Forbid ``<eos>`` while fewer than ``min_length`` tokens exist.

    Args:
        log_probs (Tensor): ``(N, V)`` next-token log-probabilities.
        seqs (Tensor): ``(N, t)`` generated tokens.
        eos_id (int): End-of-sequence id.
        min_length (int): Tokens to generate before ``<eos>`` may come.

    Returns:
        Tensor: ``log_probs``, with ``-inf`` at ``eos_id`` if
        ``t < min_length``.
    """
    if seqs.shape[1] >= min_length:
        return log_probs
    log_probs = log_probs.clone()
    log_probs[:, eos_id] = float('-inf')
    return log_probs


def warp_for_sampling(log_probs: torch.Tensor,
                      temperature: float = 1.0,
                      top_k: int = 0,
                      top_p: float = 1.0) -> torch.Tensor:
    """Temperature, top-k and top-p (nucleus) filtering, renormalised.

    Args:
        log_probs (Tensor): ``(N, V)`` next-token log-probabilities.
        temperature (float): Divides the log-probabilities; below 1 it
            sharpens the distribution. Defaults to 1.
        top_k (int): Keep the ``k`` most likely tokens (exactly ``k``,
            ties broken by ``torch.topk``); 0 keeps all. Defaults to 0.
        top_p (float): Keep the most likely tokens until their probability
            reaches ``top_p`` (the most likely one always stays); 1 keeps
            all. Defaults to 1.

    Returns:
        Tensor: ``(N, V)`` log-probabilities of the distribution to sample
        from, ``-inf`` for removed tokens.
    """
    logits = log_probs.float() / temperature
    if 0 < top_k < logits.shape[-1]:
        keep = torch.zeros_like(logits, dtype=torch.bool)
        keep.scatter_(1, logits.topk(top_k, dim=-1).indices, True)
        logits = logits.masked_fill(~keep, float('-inf'))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(-1, descending=True)
        probs = sorted_logits.softmax(-1)
        # Drop a token once the more likely ones already reach top_p.
        drop = probs.cumsum(-1) - probs >= top_p
        logits = logits.masked_fill(drop.scatter(1, order, drop),
                                    float('-inf'))
    return logits.log_softmax(-1)


def make_processor(eos_id: int,
                   no_repeat_ngram_size: int = 0,
                   min_length: int = 0,
                   temperature: float = 1.0,
                   top_k: int = 0,
                   top_p: float = 1.0) -> Optional[Processor]:
    """The processing of a step's log-probs for a set of options.

    The blocking rules run first. A hypothesis whose every token is then
    forbidden (a tiny vocabulary, or ``min_length`` with n-gram blocking)
    gets its ``<eos>`` back with its original log-probability, so it ends
    instead of continuing with an impossible token. The sampling warp
    (:func:`warp_for_sampling`) runs last, when any of its options differs
    from its default.

    Args:
        eos_id (int): End-of-sequence id.
        no_repeat_ngram_size (int): See :func:`block_repeated_ngrams`.
            Defaults to 0 (off).
        min_length (int): See :func:`block_early_eos`. Defaults to 0 (off).
        temperature (float): See :func:`warp_for_sampling`. Defaults to 1.
        top_k (int): See :func:`warp_for_sampling`. Defaults to 0 (off).
        top_p (float): See :func:`warp_for_sampling`. Defaults to 1 (off).

    Returns:
        Processor | None: None when every option is at its default (the
        log-probs are used as the decoder gives them).
    """
    blocks = no_repeat_ngram_size > 0 or min_length > 0
    warps = temperature != 1.0 or top_k > 0 or top_p < 1.0
    if not (blocks or warps):
        return None

    def process(log_probs: torch.Tensor, seqs: torch.Tensor) -> torch.Tensor:
        out = block_repeated_ngrams(log_probs, seqs, no_repeat_ngram_size)
        out = block_early_eos(out, seqs, eos_id, min_length)
        if blocks:
            stuck = ~torch.isfinite(out).any(-1)
            if bool(stuck.any()):
                out = out.clone()
                out[stuck, eos_id] = log_probs[stuck, eos_id]
        if warps:
            out = warp_for_sampling(out, temperature, top_k, top_p)
        return out

    return process
