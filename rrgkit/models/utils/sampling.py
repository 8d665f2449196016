# Copyright (c) rrgkit contributors. All rights reserved.
"""Sample reports word by word, keeping the gradient of their log-probs.

The policy-gradient counterpart of :func:`~.decoding.greedy_decode`: the same
``init_state``/``step`` protocol of any rrgkit decoder (see
:mod:`rrgkit.models.utils.decoding`), but every word is drawn from the
decoder's distribution and its log-probability stays in the autograd graph,
which is what self-critical sequence training (SCST) needs.
"""
from typing import Callable, NamedTuple, Optional

import torch

__all__ = ['SampledReports', 'sample_decode']


class SampledReports(NamedTuple):
    """Sampled ids and what a policy-gradient loss needs from them.

    Attributes:
        ids (Tensor): ``(N, L)`` sampled ids (``<bos>`` excluded); after the
            first ``<eos>`` a row is padded with ``<eos>``.
        log_probs (Tensor): ``(N, L)`` log-probability of each sampled id,
            with gradient; 0 after the first ``<eos>``.
        mask (Tensor): ``(N, L)`` 1.0 up to and including the first
            ``<eos>``, 0.0 after it.
    """
    ids: torch.Tensor
    log_probs: torch.Tensor
    mask: torch.Tensor

    @property
    def lengths(self) -> torch.Tensor:
        """``(N,)`` number of words of each row, its ``<eos>`` included."""
        return self.mask.sum(1)


def _draw(probs: torch.Tensor,
          generator: Optional[torch.Generator]) -> torch.Tensor:
    """One id per row from ``(N, V)`` probabilities, by inverting the CDF.

    The same distribution as ``torch.multinomial(probs, 1)``, about ten times
    faster on CPU for one draw per row. The uniform draw lies in
    ``(0, total]``, so a zero-probability id is never picked.
    """
    cdf = probs.cumsum(-1)
    uniform = 1.0 - torch.rand(probs.shape[0], 1, device=probs.device,
                               generator=generator)
    return torch.searchsorted(cdf, uniform * cdf[:, -1:]).squeeze(1).clamp_(
        max=probs.shape[1] - 1)


def sample_decode(init_state: Callable,
                  step: Callable,
                  batch_size: int,
                  bos_id: int,
                  eos_id: int,
                  max_len: int,
                  device: torch.device,
                  generator: Optional[torch.Generator] = None
                  ) -> SampledReports:
    """Draw one report per row from the decoder (multinomial sampling).

    ``<eos>`` is a sampled word like any other: its log-probability is part
    of the sequence's, so the policy also learns when to stop. Rows are
    decoded until all have ended or ``max_len`` words were drawn.

    Args:
        init_state (Callable): ``() -> state`` for the batch (repeat the
            rows beforehand, e.g. with :func:`~.decoding.index_state`, to
            draw several reports per image).
        step (Callable): The decoder's ``step``.
        batch_size (int): ``N``, rows of the state.
        bos_id (int): Begin-of-sequence id fed first.
        eos_id (int): End-of-sequence id.
        max_len (int): Maximum number of sampled words.
        device (torch.device): Device of the id tensors.
        generator (torch.Generator, optional): Random stream of the draws.
            Defaults to None (torch's global one).

    Returns:
        SampledReports: The ids, their log-probs and the mask.
    """
    state = init_state()
    tokens = torch.full((batch_size, ), bos_id, dtype=torch.long,
                        device=device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)
    ids, log_probs, alive = [], [], []
    for _ in range(max_len):
        step_log_probs, state = step(tokens, state)
        tokens = _draw(step_log_probs.detach().float().exp(), generator)
        tokens = tokens.masked_fill(finished, eos_id)
        alive.append(~finished)
        log_probs.append(
            step_log_probs.gather(1, tokens[:, None]).squeeze(1))
        ids.append(tokens)
        finished = finished | (tokens == eos_id)
        if bool(finished.all()):
            break
    mask = torch.stack(alive, 1).to(torch.float32)
    return SampledReports(
        torch.stack(ids, 1),
        torch.stack(log_probs, 1) * mask.to(log_probs[0].dtype), mask)
