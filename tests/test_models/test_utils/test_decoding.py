# Copyright (c) rrgkit contributors. All rights reserved.
import itertools
import math

import torch

from rrgkit.models.utils import beam_search, greedy_decode, index_state

PAD, BOS, EOS, A, B = range(5)


def _table():
    """Per-image Markov chains where greedy is not optimal for image 0."""
    probs = torch.full((2, 5, 5), 1e-9)
    # image 0: greedy picks A (0.6) then EOS (0.4) = 0.24;
    # best is B (0.4) then EOS (0.99) = 0.396.
    probs[0, BOS, A], probs[0, BOS, B] = 0.6, 0.4
    probs[0, A, EOS], probs[0, A, A], probs[0, A, B] = 0.4, 0.3, 0.3
    probs[0, B, EOS], probs[0, B, A] = 0.99, 0.01
    # image 1: A EOS (0.36) is the best and the greedy path.
    probs[1, BOS, A], probs[1, BOS, B] = 0.9, 0.1
    probs[1, A, A], probs[1, A, EOS] = 0.6, 0.4
    probs[1, B, EOS] = 1.0
    probs[:, EOS, EOS] = 1.0
    probs = probs / probs.sum(-1, keepdim=True)
    return probs.log()


def _decoder(table):

    def init_state():
        return dict(image=torch.arange(2), prev=torch.full((2, ), BOS))

    def step(tokens, state):
        logp = table[state['image'], tokens]
        return logp, dict(image=state['image'], prev=tokens)

    return init_state, step


def _best_by_enumeration(table, image, max_len):
    best, best_score = None, -math.inf
    for n in range(1, max_len + 1):
        for seq in itertools.product([A, B, EOS], repeat=n):
            if EOS in seq[:-1] or (seq[-1] != EOS and n < max_len):
                continue  # only finished reports (or cut at max_len)
            prev, score = BOS, 0.0
            for tok in seq:
                score += table[image, prev, tok].item()
                prev = tok
            if score > best_score:
                best, best_score = list(seq), score
    return best


def _trim(row):
    row = list(row)
    return row[:row.index(EOS) + 1] if EOS in row else row


def test_greedy_is_suboptimal_and_beam_finds_the_optimum():
    table = _table()
    init_state, step = _decoder(table)
    kw = dict(batch_size=2, bos_id=BOS, eos_id=EOS, max_len=4,
              device=torch.device('cpu'))
    greedy = greedy_decode(init_state, step, **kw)
    assert _trim(greedy[0].tolist()) == [A, EOS]
    beam = beam_search(init_state, step, beam_size=3, **kw)
    for image in range(2):
        assert _trim(beam[image].tolist()) == _best_by_enumeration(
            table, image, 4)
    assert _trim(beam[0].tolist()) == [B, EOS]
    assert _trim(beam[1].tolist()) == [A, EOS]


def test_beam_of_one_equals_greedy():
    table = _table()
    init_state, step = _decoder(table)
    kw = dict(batch_size=2, bos_id=BOS, eos_id=EOS, max_len=5,
              device=torch.device('cpu'))
    greedy = greedy_decode(init_state, step, **kw)
    beam = beam_search(init_state, step, beam_size=1, **kw)
    for g, b in zip(greedy.tolist(), beam.tolist()):
        assert _trim(g) == _trim(b)


def test_index_state_handles_nested_structures():
    state = dict(h=torch.arange(6).view(3, 2), pair=(torch.arange(3), None))
    out = index_state(state, torch.tensor([2, 0]))
    assert out['h'].tolist() == [[4, 5], [0, 1]]
    assert out['pair'][0].tolist() == [2, 0] and out['pair'][1] is None
