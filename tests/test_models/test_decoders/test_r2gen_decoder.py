# Copyright (c) rrgkit contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from rrgkit.models.decoders import (ConditionalLayerNorm, R2GenDecoder,
                                    RelationalMemory)
from rrgkit.models.decoders.r2gen_decoder import sinusoidal_positions
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils import (VisualFeatures, beam_search, greedy_decode,
                                 index_state)
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

V, BOS, EOS, PAD = 13, 1, 2, 0
D = 16


def _decoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(vocab_size=V, in_channels=6, d_model=D, num_heads=4,
               num_layers=2, ffn_dims=32, dropout=0.0, num_slots=3,
               rm_num_heads=2)
    cfg.update(kwargs)
    return R2GenDecoder(**cfg).eval()


def _visual(batch=2, tokens=5, dims=6, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return VisualFeatures(global_feat=torch.randn(batch, dims, generator=gen),
                          tokens=torch.randn(batch, tokens, dims,
                                             generator=gen))


IDS = torch.tensor([[1, 5, 7, 9, 4, 2], [1, 4, 4, 9, 0, 0]])


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def trained():
    """A decoder briefly fit to 4 reports of 3-10 words, and its memory,
    so that decoding tests compare real, varied choices."""
    dec = _decoder().train()
    visual = _visual(batch=4)
    gen = torch.Generator().manual_seed(0)
    ids = torch.full((4, 12), PAD)
    ids[:, 0] = BOS
    for i, n in enumerate([3, 6, 8, 10]):
        ids[i, 1:n + 1] = torch.randint(3, V, (n, ), generator=gen)
        ids[i, n + 1] = EOS
    optim = torch.optim.Adam(dec.parameters(), lr=1e-2)
    for _ in range(40):
        logits = dec(visual, ids[:, :-1])
        loss = nn.functional.cross_entropy(
            logits.flatten(0, 1), ids[:, 1:].flatten(), ignore_index=PAD)
        optim.zero_grad()
        loss.backward()
        optim.step()
    return dec.eval(), visual


# ------------------------------------------------------------ components
def test_sinusoidal_positions_hand_computed():
    enc = sinusoidal_positions(torch.tensor([0, 1, 2]), 4)
    assert enc.shape == (3, 4)
    torch.testing.assert_close(enc[0], torch.tensor([0., 1., 0., 1.]))
    expected = [math.sin(2), math.cos(2), math.sin(0.02), math.cos(0.02)]
    torch.testing.assert_close(enc[2], torch.tensor(expected))


def test_relational_memory_initial_state_and_shapes():
    rm = RelationalMemory(4, num_slots=3, num_heads=2)
    init = rm.initial_state(2)
    assert init.shape == (2, 3, 4)
    torch.testing.assert_close(init[1], torch.eye(3, 4))
    # More slots than features: the identity is truncated.
    assert torch.equal(RelationalMemory(2, num_slots=3, num_heads=1)
                       .initial_state(1)[0], torch.eye(3, 2))
    words = torch.randn(2, 5, 4)
    states = rm(words)
    assert states.shape == (2, 5, 3, 4)
    # forward is the step applied word after word.
    memory = init
    for t in range(5):
        memory = rm.step(memory, words[:, t])
        torch.testing.assert_close(states[:, t], memory)
    # Recurrent and causal: a later word leaves earlier states alone.
    changed = words.clone()
    changed[:, 3] += 1.0
    again = rm(changed)
    assert torch.equal(again[:, :3], states[:, :3])
    assert not torch.allclose(again[:, 3], states[:, 3])


def _set_gates(rm, input_bias, forget_bias):
    with torch.no_grad():
        rm.word_gates.weight.zero_()
        rm.memory_gates.weight.zero_()
        d = rm.embed_dims
        rm.word_gates.bias[:d] = input_bias
        rm.word_gates.bias[d:] = forget_bias


def test_relational_memory_update_is_gated():
    torch.manual_seed(0)
    rm = RelationalMemory(4, num_slots=2, num_heads=2).eval()
    memory, word = torch.randn(3, 2, 4), torch.randn(3, 4)
    # Forget gate 1, input gate 0: the memory stays exactly as it is.
    _set_gates(rm, input_bias=-1e4, forget_bias=1e4)
    assert torch.equal(rm.step(memory, word), memory)
    # Input gate 1, forget gate 0 and a silent attention output and MLP:
    # M~ = M, Z = M, so the new memory is tanh(M).
    _set_gates(rm, input_bias=1e4, forget_bias=-1e4)
    with torch.no_grad():
        for param in (rm.attn.out_proj.weight, rm.attn.out_proj.bias,
                      rm.mlp[2].weight, rm.mlp[2].bias):
            param.zero_()
    torch.testing.assert_close(rm.step(memory, word), torch.tanh(memory))
    # Both gates at 1/2: the average of the two.
    _set_gates(rm, input_bias=0.0, forget_bias=0.0)
    torch.testing.assert_close(rm.step(memory, word),
                               0.5 * torch.tanh(memory) + 0.5 * memory)


def test_mcln_with_zero_mlp_outputs_is_layer_norm():
    torch.manual_seed(0)
    mcln = ConditionalLayerNorm(8, cond_dims=6)
    plain = nn.LayerNorm(8)
    with torch.no_grad():
        for mlp in (mcln.mlp_gamma, mcln.mlp_beta):
            mlp[2].weight.zero_()
            mlp[2].bias.zero_()
        mcln.weight.copy_(torch.randn(8))
        mcln.bias.copy_(torch.randn(8))
        plain.weight.copy_(mcln.weight)
        plain.bias.copy_(mcln.bias)
    x, cond = torch.randn(2, 5, 8) * 3 + 1, torch.randn(2, 5, 6)
    torch.testing.assert_close(mcln(x, cond), plain(x))
    # A memory-driven shift c of beta adds c; of gamma scales LN(x) by it.
    with torch.no_grad():
        mcln.mlp_beta[2].bias.fill_(0.5)
        mcln.mlp_gamma[2].bias.fill_(2.0)
    normed = nn.functional.layer_norm(x, (8, ))
    torch.testing.assert_close(
        mcln(x, cond),
        (mcln.weight + 2.0) * normed + mcln.bias + 0.5)
    # At initialisation the condition does move the norm.
    fresh = ConditionalLayerNorm(8, cond_dims=6)
    assert not torch.allclose(fresh(x, cond), fresh(x, cond + 1.0))


# --------------------------------------------------------------- decoder
def test_shapes_and_memory_driven_norms():
    dec = _decoder()
    assert dec(_visual(), IDS).shape == (2, 6, V)
    assert len(dec.layers) == 2
    norms = [m for m in dec.modules() if isinstance(m, ConditionalLayerNorm)]
    assert len(norms) == 3 * 2 + 1  # three per block and the final norm
    assert all(n.cond_dims == 3 * D for n in norms)
    assert not any(isinstance(m, nn.LayerNorm) for m in dec.modules())
    assert dec.word_embed.weight[PAD].abs().sum() == 0
    # Visual tokens of d_model channels need no projection.
    same = _decoder(in_channels=D)
    assert isinstance(same.visual_proj, nn.Identity)
    assert same(_visual(dims=D), IDS).shape == (2, 6, V)


def test_the_relational_memory_conditions_the_output():
    dec = _decoder()
    visual = _visual()
    logits = dec(visual, IDS)
    with torch.no_grad():
        dec.memory.initial_memory.mul_(3.0)
    assert not torch.allclose(dec(visual, IDS), logits)


def test_causal_mask_future_tokens_do_not_change_the_past():
    dec = _decoder()
    visual = _visual()
    logits = dec(visual, IDS)
    changed = IDS.clone()
    changed[:, 3] = 11
    other = dec(visual, changed)
    torch.testing.assert_close(other[:, :3], logits[:, :3], rtol=0, atol=0)
    assert not torch.allclose(other[:, 3:], logits[:, 3:])


def test_step_with_cache_equals_forward():
    dec = _decoder()
    visual = _visual()
    expected = dec(visual, IDS).log_softmax(-1)
    state = dec.init_state(visual)
    assert state['rm'].shape == (2, 3, D)
    assert state['self_k.0'].shape == (2, 4, 0, 4)
    assert state['cross_k.1'].shape == (2, 4, 5, 4)
    for t in range(IDS.shape[1]):
        log_probs, state = dec.step(IDS[:, t], state)
        torch.testing.assert_close(log_probs, expected[:, t], rtol=0,
                                   atol=1e-5)
    assert state['self_v.1'].shape == (2, 4, 6, 4)
    assert state['pos'].tolist() == [6, 6]
    # The cached memory is the relational memory after the 6 words.
    words = dec._embed(IDS, torch.arange(6))
    torch.testing.assert_close(state['rm'], dec.memory(words)[:, -1])


def test_state_is_batch_first_and_reorderable():
    dec = _decoder()
    visual = _visual(batch=3)
    state = dec.init_state(visual)
    assert all(v.shape[0] == 3 for v in state.values())
    _, state = dec.step(torch.tensor([1, 1, 1]), state)
    _, state = dec.step(torch.tensor([4, 8, 5]), state)
    perm = torch.tensor([2, 0, 1])
    reordered = index_state(state, perm)
    a, _ = dec.step(torch.tensor([5, 6, 7]), state)
    b, _ = dec.step(torch.tensor([7, 5, 6]), reordered)
    torch.testing.assert_close(b, a[perm])


def _reference(dec, visual):
    """Decoding without caches: forward on the growing prefix."""

    def init_state():
        B = visual.batch_size
        return dict(g=visual.global_feat, mem=visual.tokens,
                    prefix=torch.zeros(B, 0, dtype=torch.long))

    def step(tokens, state):
        prefix = torch.cat([state['prefix'], tokens[:, None]], 1)
        feats = VisualFeatures(state['g'], state['mem'])
        log_probs = dec(feats, prefix)[:, -1].log_softmax(-1)
        return log_probs, dict(g=state['g'], mem=state['mem'],
                               prefix=prefix)

    return init_state, step


def _decode_kwargs(batch):
    return dict(batch_size=batch, bos_id=BOS, eos_id=EOS, max_len=12,
                device=torch.device('cpu'))


def _lengths(seqs):
    return [row.tolist().index(EOS) if EOS in row else len(row)
            for row in seqs]


def test_greedy_and_beam_with_cache_equal_recomputing(trained):
    dec, visual = trained
    cached = greedy_decode(lambda: dec.init_state(visual), dec.step,
                           **_decode_kwargs(4))
    init_ref, step_ref = _reference(dec, visual)
    assert torch.equal(
        cached, greedy_decode(init_ref, step_ref, **_decode_kwargs(4)))
    assert len(set(map(tuple, cached.tolist()))) == 4
    assert len(set(_lengths(cached))) > 1 and max(_lengths(cached)) >= 5
    beams = beam_search(lambda: dec.init_state(visual), dec.step,
                        beam_size=3, **_decode_kwargs(4))
    assert torch.equal(
        beams, beam_search(init_ref, step_ref, beam_size=3,
                           **_decode_kwargs(4)))


def test_clear_errors():
    with pytest.raises(ValueError, match='num_heads=5'):
        _decoder(num_heads=5)
    with pytest.raises(ValueError, match='rm_num_heads=3'):
        _decoder(rm_num_heads=3)
    with pytest.raises(ValueError, match='must be even'):
        _decoder(d_model=15, num_heads=5, rm_num_heads=5)
    with pytest.raises(ValueError, match='num_layers'):
        _decoder(num_layers=0)
    with pytest.raises(ValueError, match='num_slots'):
        _decoder(num_slots=0)
    dec = _decoder()
    with pytest.raises(ValueError, match='in_channels=6'):
        dec(_visual(dims=7), IDS)
    with pytest.raises(ValueError, match=r'\(B, N, C\)'):
        dec(VisualFeatures(torch.zeros(2, 6), torch.zeros(2, 6)), IDS)
    with pytest.raises(ValueError, match='expected memory'):
        dec.memory.step(torch.zeros(2, 2, D), torch.zeros(2, D))
    with pytest.raises(ValueError, match='cond_dims=48'):
        dec.final_norm(torch.zeros(2, D), torch.zeros(2, 7))


# ----------------------------------------------------- through the model
REPORTS = [
    'The heart is normal. No effusion.',
    'A nodule in the right lung. No effusion.',
    'The heart is normal. A nodule in the left lung.',
]
TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))


def _generator(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='ReportGenerator',
        backbone=TINY_DENSENET,
        encoder=dict(type='TransformerVisualEncoder', d_model=16,
                     num_heads=2, num_layers=1, ffn_dims=32),
        decoder=dict(type='R2GenDecoder', d_model=16, num_heads=2,
                     num_layers=1, ffn_dims=32, num_slots=2,
                     rm_num_heads=2),
        tokenizer=ReportTokenizer().build_vocab(REPORTS),
        max_len=20,
        **kwargs))


def _batch(n=2):
    inputs = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8,
                            generator=torch.Generator().manual_seed(i))
              for i in range(n)]
    samples = [ReportDataSample().set_gt_report(REPORTS[i % 3])
               for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def test_report_generator_loss_and_beam_search_predict():
    model = _generator(beam_size=2)
    assert model.encoder.in_channels == 10  # the tiny DenseNet's channels
    assert model.decoder.in_channels == 16  # the encoder's d_model
    loss = model(**model.data_preprocessor(_batch(), training=True),
                 mode='loss')['loss_report']
    assert abs(loss.item() - np.log(len(model.tokenizer))) < 1.5
    loss.backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    rm_grad = model.decoder.memory.word_gates.weight.grad
    assert rm_grad is not None and rm_grad.abs().sum() > 0
    model.eval()
    out = model(**model.data_preprocessor(_batch(3)), mode='predict')
    assert len(out) == 3
    assert all(isinstance(s.pred_report, str) for s in out)
    assert all(s.gt_reports for s in out)


def test_report_generator_overfits_two_reports_with_beam_search():
    model = _generator(beam_size=2)
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    data = _batch(2)
    data['inputs'][1] = 255 - data['inputs'][0]
    for _ in range(60):
        batch = model.data_preprocessor(data, training=True)
        loss = model(**batch, mode='loss')['loss_report']
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    out = model(**model.data_preprocessor(data), mode='predict')
    assert [s.pred_report for s in out] == [s.gt_reports[0] for s in out]
