# Copyright (c) rrgkit contributors. All rights reserved.
import itertools
import math

import pytest
import torch

from rrgkit.models.utils import (DECODE_DEFAULTS, DecodingConfigError,
                                 beam_search, decode, greedy_decode,
                                 index_state, resolve_decode_cfg)

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


# ------------------------------------------------------ decoding controls
CPU = torch.device('cpu')


def _chain(rows):
    """One image's Markov chain ``{prev: {next: prob}}`` as a log table."""
    probs = torch.full((1, 5, 5), 1e-9)
    for prev, nexts in rows.items():
        for tok, p in nexts.items():
            probs[0, prev, tok] = p
    probs[:, EOS, EOS] = 1.0
    return (probs / probs.sum(-1, keepdim=True)).log()


def _score(table, image, seq):
    prev, score = BOS, 0.0
    for tok in seq:
        score += table[image, prev, tok].item()
        prev = tok
    return score


def _enumerate_best(table, image, max_len, allowed=lambda seq: True,
                    length_penalty=0.0):
    """The best finished (or cut at ``max_len``) sequence over A, B, EOS
    among the ``allowed`` ones, by brute force."""
    best, best_rank = None, -math.inf
    for n in range(1, max_len + 1):
        for seq in itertools.product([A, B, EOS], repeat=n):
            if EOS in seq[:-1] or (seq[-1] != EOS and n < max_len):
                continue
            if not allowed(seq):
                continue
            rank = _score(table, image, seq) / n**length_penalty
            if rank > best_rank:
                best, best_rank = list(seq), rank
    return best


def _no_repeat(n):

    def allowed(seq):
        grams = [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]
        return len(grams) == len(set(grams))

    return allowed


def _min_length(m):
    return lambda seq: EOS not in seq or seq.index(EOS) >= m


# A repeats itself: unconstrained, A A A A (cut at 4 tokens) is the best
# (0.9 * 0.7^3 = 0.3087); without repeated bigrams the best is A B EOS
# (0.9 * 0.2 * 0.6 = 0.108), while greedy goes A A, then (A blocked) B EOS.
REPEATER = {BOS: {A: 0.9, B: 0.1}, A: {A: 0.7, B: 0.2, EOS: 0.1},
            B: {EOS: 0.6, A: 0.3, B: 0.1}}
EXHAUSTIVE = 125  # more beams than prefixes of 3 tokens: beam search is exact


def _run(table, decode_fn, max_len=4, **kwargs):
    init_state, step = _decoder(table)
    out = decode_fn(lambda: index_state(init_state(), torch.tensor([0])),
                    step, batch_size=1, bos_id=BOS, eos_id=EOS,
                    max_len=max_len, device=CPU, **kwargs)
    return _trim(out[0].tolist())


def test_no_repeat_ngram_blocks_the_repeat_and_finds_the_best_rest():
    table = _chain(REPEATER)
    assert _run(table, beam_search, beam_size=3) == [A, A, A, A]
    assert _enumerate_best(table, 0, 4) == [A, A, A, A]
    assert _run(table, greedy_decode, no_repeat_ngram_size=2) == [A, A, B, EOS]
    assert _run(table, beam_search, beam_size=3,
                no_repeat_ngram_size=2) == [A, B, EOS]
    for n in (1, 2, 3):
        expected = _enumerate_best(table, 0, 4, _no_repeat(n))
        got = _run(table, beam_search, beam_size=EXHAUSTIVE,
                   no_repeat_ngram_size=n)
        assert got == expected, n
        assert _no_repeat(n)(got)
    # n = 3 still allows one A A A: A A A B (0.9 * 0.49 * 0.2 = 0.0882) is
    # below A B EOS (0.108); n = 1 forbids any token twice.
    assert _enumerate_best(table, 0, 4, _no_repeat(3)) == [A, B, EOS]
    assert _enumerate_best(table, 0, 4, _no_repeat(1)) == [A, B, EOS]


def test_min_length_forbids_an_early_eos():
    # B EOS (0.45 * 0.9 = 0.405) is the best; with at least 2 tokens before
    # EOS, A B EOS (0.55 * 0.4 * 0.9 = 0.198) beats A A EOS (0.0275) and
    # B A EOS (0.0045).
    table = _chain({BOS: {A: 0.55, B: 0.45}, A: {A: 0.5, B: 0.4, EOS: 0.1},
                    B: {EOS: 0.9, A: 0.1}})
    assert _run(table, beam_search, beam_size=3) == [B, EOS]
    assert _run(table, beam_search, beam_size=3, min_length=2) == [A, B, EOS]
    for m, expected in ((1, [B, EOS]), (2, [A, B, EOS]), (3, None)):
        best = _enumerate_best(table, 0, 5, _min_length(m))
        if expected is not None:
            assert best == expected
        got = _run(table, beam_search, max_len=5, beam_size=EXHAUSTIVE,
                   min_length=m)
        assert got == best and _min_length(m)(got), m
    # Greedy: B then EOS (0.9); with EOS banned at step 2, A (0.1) follows,
    # then EOS (0.7) once 2 or more tokens are out.
    table = _chain({BOS: {B: 0.9, A: 0.1}, B: {EOS: 0.9, A: 0.1},
                    A: {EOS: 0.7, A: 0.3}})
    assert _run(table, greedy_decode) == [B, EOS]
    assert _run(table, greedy_decode, min_length=1) == [B, EOS]
    assert _run(table, greedy_decode, min_length=2) == [B, A, EOS]
    assert _run(table, greedy_decode, min_length=3) == [B, A, A, EOS]


# A EOS: log 0.5 + log 0.5 = -1.386 (2 tokens); B A EOS: log 0.5 +
# log 0.95 + log 0.5 = -1.438 (3 tokens). Total log-prob prefers A EOS;
# divided by length (length_penalty=1): -0.693 vs -0.479, B A EOS wins.
PENALISED = {BOS: {A: 0.5, B: 0.5}, A: {EOS: 0.5, A: 0.3, B: 0.2},
             B: {A: 0.95, EOS: 0.05}}


def test_length_penalty_changes_the_choice_as_computed_by_hand():
    table = _chain(PENALISED)
    assert math.isclose(_score(table, 0, [A, EOS]), 2 * math.log(0.5),
                        rel_tol=1e-5)
    assert _run(table, beam_search, beam_size=3) == [A, EOS]
    assert _run(table, beam_search, beam_size=3,
                length_penalty=1.0) == [B, A, EOS]
    for lp in (0.0, 0.5, 1.0, 2.0):
        assert _run(table, beam_search, beam_size=EXHAUSTIVE,
                    length_penalty=lp) == _enumerate_best(
                        table, 0, 4, length_penalty=lp)


def test_length_penalty_works_with_blocking_and_min_length():
    table = _chain(PENALISED)
    # min_length=2 removes A EOS; among the rest, B A EOS is also the best
    # by total log-prob (-1.438 vs A A EOS at log 0.5*0.3*0.5 = -2.590).
    assert _run(table, beam_search, beam_size=3, min_length=2) == [B, A, EOS]
    cases = [dict(no_repeat_ngram_size=1), dict(no_repeat_ngram_size=2),
             dict(min_length=2), dict(min_length=3, no_repeat_ngram_size=2)]
    for lp in (0.0, 1.0, 2.0):
        for opts in cases:
            rules = [_no_repeat(opts.get('no_repeat_ngram_size', 99)),
                     _min_length(opts.get('min_length', 0))]
            expected = _enumerate_best(
                table, 0, 5, lambda s: all(r(s) for r in rules), lp)
            got = _run(table, beam_search, max_len=5, beam_size=EXHAUSTIVE,
                       length_penalty=lp, **opts)
            assert got == expected, (lp, opts)


def _random_table(images=8, vocab=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(images, vocab, vocab, generator=gen) * 2
    logits[:, :, PAD] = -30  # never pad
    logits[:, EOS] = -30
    logits[:, EOS, EOS] = 0
    return logits.log_softmax(-1)


def _batch_decoder(table):

    def init_state():
        return dict(image=torch.arange(table.shape[0]))

    def step(tokens, state):
        return table[state['image'], tokens], state

    return init_state, step


def _sample(table, seed=None, max_len=8, **kwargs):
    init_state, step = _batch_decoder(table)
    gen = None if seed is None else torch.Generator().manual_seed(seed)
    return greedy_decode(init_state, step, table.shape[0], BOS, EOS, max_len,
                         CPU, generator=gen, **kwargs)


def test_top_k_one_and_tiny_temperature_sample_the_greedy_path():
    table = _random_table()
    greedy = _sample(table)
    assert torch.equal(_sample(table, 0, do_sample=True, top_k=1), greedy)
    # The most likely word leads every row by >= 0.05 nats here, so at
    # T = 1e-4 the others have probability below exp(-500).
    top2 = table.topk(2, -1).values
    assert float((top2[..., 0] - top2[..., 1]).min()) > 0.05
    assert torch.equal(
        _sample(table, 0, do_sample=True, temperature=1e-4), greedy)
    assert torch.equal(_sample(table, 0, do_sample=True, top_p=1e-3), greedy)
    blocked = _sample(table, no_repeat_ngram_size=2)
    assert torch.equal(
        _sample(table, 1, do_sample=True, top_k=1, no_repeat_ngram_size=2),
        blocked)


def test_top_k_sampling_stays_within_the_top_k():
    table = _random_table(images=64).repeat(4, 1, 1)
    out = _sample(table, 0, do_sample=True, top_k=2, temperature=2.0)
    top2 = table.topk(2, -1).indices
    for image, row in enumerate(out.tolist()):
        prev = BOS
        for tok in _trim(row):
            assert tok in top2[image, prev].tolist()
            prev = tok
    # It is sampling, not greedy: some image starts with both of its top 2
    # in its 4 copies.
    firsts = {(image % 64, row[0]) for image, row in enumerate(out.tolist())}
    assert len(firsts) > 64


def test_a_seeded_generator_reproduces_and_seeds_differ():
    table = _random_table(images=32)
    a = _sample(table, 7, do_sample=True)
    assert torch.equal(a, _sample(table, 7, do_sample=True))
    assert not torch.equal(a, _sample(table, 8, do_sample=True))
    assert not torch.equal(a, _sample(table))  # T = 1 is not greedy here


def test_decode_cfg_defaults_overrides_and_dispatch():
    assert resolve_decode_cfg() == DECODE_DEFAULTS
    opts = resolve_decode_cfg(dict(min_length=2), beam_size=3)
    assert (opts['beam_size'], opts['min_length']) == (3, 2)
    # decode_cfg wins over the generator's own beam_size argument.
    assert resolve_decode_cfg(dict(beam_size=1), beam_size=3)['beam_size'] \
        == 1
    table = _chain(PENALISED)
    assert _run(table, decode, beam_size=3, length_penalty=1.0) == \
        [B, A, EOS]
    assert _run(table, decode, min_length=2) == _run(
        table, greedy_decode, min_length=2)


@pytest.mark.parametrize('cfg, message', [
    (dict(no_repeat_ngram=3), "unknown option model.decode_cfg.no_repeat_"
     "ngram (did you mean 'no_repeat_ngram_size'?)"),
    (dict(num_beams=3), 'unknown option model.decode_cfg.num_beams'),
    (dict(top_p=0), 'model.decode_cfg.top_p must be a number in (0, 1]'),
    (dict(temperature=0.0), 'model.decode_cfg.temperature must be a number'),
    (dict(top_k=-1), 'model.decode_cfg.top_k must be an int >= 0'),
    (dict(do_sample='yes'), 'model.decode_cfg.do_sample must be True or'),
    (dict(min_length=1.5), 'model.decode_cfg.min_length must be an int'),
    (dict(do_sample=True, beam_size=3), 'needs beam_size=1'),
    ([('beam_size', 3)], 'model.decode_cfg must be a dict'),
])
def test_bad_decode_cfg_names_the_key(cfg, message):
    with pytest.raises(DecodingConfigError) as err:
        resolve_decode_cfg(cfg)
    assert message in str(err.value)
    assert '\n' not in str(err.value)
