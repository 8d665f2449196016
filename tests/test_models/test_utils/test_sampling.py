# Copyright (c) rrgkit contributors. All rights reserved.
import math

import pytest
import torch

from rrgkit.models.utils.sampling import sample_decode

PAD, BOS, EOS, A, B = range(5)


def _chain(table):
    """A decoder whose next-word log-probs depend on the previous word."""
    table = torch.nn.Parameter(table.log())

    def init_state(rows):
        return lambda: dict(row=torch.zeros(rows, 1))

    def step(tokens, state):
        return table[tokens], state

    return table, init_state, step


def _probs(rows):
    """``{previous: {next: p}}`` -> a row-normalised ``(5, 5)`` table."""
    probs = torch.full((5, 5), 1e-12)
    for prev, dist in rows.items():
        for token, p in dist.items():
            probs[prev, token] = p
    probs[EOS, EOS] = 1.0
    return probs / probs.sum(-1, keepdim=True)


def _run(step, init_state, n, max_len=6, seed=0):
    return sample_decode(init_state(n), step, n, BOS, EOS, max_len,
                         torch.device('cpu'),
                         generator=torch.Generator().manual_seed(seed))


def test_a_certain_chain_is_sampled_exactly():
    # BOS -> A -> B -> EOS with probability 1.
    _, init_state, step = _chain(
        _probs({BOS: {A: 1.0}, A: {B: 1.0}, B: {EOS: 1.0}}))
    out = _run(step, init_state, 3)
    assert out.ids.tolist() == [[A, B, EOS]] * 3
    assert out.mask.tolist() == [[1.0, 1.0, 1.0]] * 3
    assert out.lengths.tolist() == [3.0] * 3
    assert out.log_probs.abs().max() < 1e-6


def test_eos_padding_mask_and_log_probs_with_gradient():
    # BOS -> EOS (0.5) or A (0.5); A -> EOS.
    table, init_state, step = _chain(
        _probs({BOS: {EOS: 0.5, A: 0.5}, A: {EOS: 1.0}}))
    out = _run(step, init_state, 64)
    short = out.ids[:, 0] == EOS
    assert 0 < int(short.sum()) < 64  # both kinds were drawn
    # Rows that ended first are padded with <eos> and masked after it.
    assert out.ids[short].tolist() == [[EOS, EOS]] * int(short.sum())
    assert out.mask[short].tolist() == [[1.0, 0.0]] * int(short.sum())
    assert out.ids[~short].tolist() == [[A, EOS]] * int((~short).sum())
    assert out.mask[~short].tolist() == [[1.0, 1.0]] * int((~short).sum())
    # The <eos> draw is part of the sequence: log 0.5 at step 1 for all.
    assert torch.allclose(out.log_probs[:, 0].detach(),
                          torch.full((64, ), math.log(0.5)), atol=1e-6)
    assert out.log_probs[short, 1].abs().max() == 0.0  # masked out
    # Gradient flows to the decoder's parameters.
    out.log_probs.sum().backward()
    assert table.grad is not None and table.grad[BOS].abs().sum() > 0


def test_frequencies_follow_the_distribution_and_zero_is_never_drawn():
    _, init_state, step = _chain(
        _probs({BOS: {A: 0.7, B: 0.3}, A: {EOS: 1.0}, B: {EOS: 1.0}}))
    out = _run(step, init_state, 20000, max_len=2, seed=1)
    first = out.ids[:, 0]
    assert float((first == A).float().mean()) == pytest.approx(0.7, abs=0.02)
    assert set(first.tolist()) == {A, B}  # PAD/BOS/EOS have ~0 probability


def test_stops_at_max_len_without_eos():
    _, init_state, step = _chain(_probs({BOS: {A: 1.0}, A: {A: 1.0}}))
    out = _run(step, init_state, 2, max_len=4)
    assert out.ids.tolist() == [[A] * 4] * 2
    assert out.lengths.tolist() == [4.0, 4.0]
