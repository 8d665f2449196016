# Copyright (c) rrgkit contributors. All rights reserved.
import math

import torch

from rrgkit.models.utils.logits_processors import (block_early_eos,
                                                   block_repeated_ngrams,
                                                   make_processor,
                                                   warp_for_sampling)

INF = float('-inf')


def _banned(out):
    return [torch.isinf(row).nonzero().flatten().tolist() for row in out]


def test_repeated_ngrams_are_blocked_per_row():
    log_probs = torch.zeros(3, 6)
    seqs = torch.tensor([[1, 2, 3, 1, 2],   # (1, 2) -> 3 done: ban 3
                         [4, 4, 4, 5, 4],   # (4, 4)... last is 4: ban 4, 5
                         [1, 2, 3, 4, 5]])  # no repeat possible
    out = block_repeated_ngrams(log_probs, seqs, 2)
    assert _banned(out) == [[3], [4, 5], []]
    out = block_repeated_ngrams(log_probs, seqs, 3)
    assert _banned(out) == [[3], [], []]
    out = block_repeated_ngrams(log_probs, seqs, 1)
    assert _banned(out) == [[1, 2, 3], [4, 5], [1, 2, 3, 4, 5]]
    # Off, or too short a history for one complete n-gram.
    assert block_repeated_ngrams(log_probs, seqs, 0) is log_probs
    assert block_repeated_ngrams(log_probs, seqs[:, :2], 3) is log_probs


def test_eos_is_blocked_before_min_length():
    log_probs = torch.zeros(2, 4)
    assert _banned(block_early_eos(log_probs, torch.zeros(2, 1), 2,
                                   2)) == [[2], [2]]
    assert block_early_eos(log_probs, torch.zeros(2, 2), 2, 2) is log_probs
    assert log_probs.isfinite().all()  # not modified in place


def test_top_k_top_p_and_temperature_by_hand():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    log_probs = probs.log()
    out = warp_for_sampling(log_probs, top_k=2).exp()
    assert torch.allclose(out, torch.tensor([[0.625, 0.375, 0, 0]]))
    # The more likely tokens reach 0.75 after 2 tokens, 0.85 after 3.
    out = warp_for_sampling(log_probs, top_p=0.75).exp()
    assert torch.allclose(out, torch.tensor([[0.625, 0.375, 0, 0]]))
    out = warp_for_sampling(log_probs, top_p=0.85).exp()
    assert torch.allclose(out, torch.tensor([[0.5, 0.3, 0.15, 0]]) / 0.95)
    # The most likely token always stays.
    assert warp_for_sampling(log_probs, top_p=0.01).exp()[0, 0] == 1
    # T = 2: p ** (1/2), renormalised.
    out = warp_for_sampling(log_probs, temperature=2.0).exp()
    root = probs.sqrt()
    assert torch.allclose(out, root / root.sum())
    assert math.isclose(out.sum().item(), 1.0, rel_tol=1e-6)


def test_processor_is_none_by_default_and_ends_a_stuck_row():
    assert make_processor(eos_id=2) is None
    process = make_processor(eos_id=2, no_repeat_ngram_size=1, min_length=5)
    log_probs = torch.tensor([[-1.0, -2.0, -3.0],
                              [-1.0, -2.0, -0.5]])
    seqs = torch.tensor([[0, 1], [0, 0]])
    out = process(log_probs, seqs)
    # Row 0: 0 and 1 were generated, eos is too early: nothing is left, so
    # eos comes back with its own log-prob. Row 1: token 1 stays.
    assert out[0].tolist() == [INF, INF, -3.0]
    assert out[1].tolist() == [INF, -2.0, INF]
