# Copyright (c) rrgkit contributors. All rights reserved.
import numpy as np
import pytest
import torch

from rrgkit.models.decoders.gpt_decoder import GPTDecoder
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils import (VisualFeatures, beam_search, greedy_decode,
                                 index_state)
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

V, BOS, EOS, PAD = 13, 1, 2, 0


def _decoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(vocab_size=V, in_channels=6, d_model=16, num_heads=4,
               num_layers=2, ffn_dims=32, max_len=24)
    cfg.update(kwargs)
    return GPTDecoder(**cfg).eval()


def _visual(batch=2, tokens=5, dims=6, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return VisualFeatures(global_feat=torch.randn(batch, dims, generator=gen),
                          tokens=torch.randn(batch, tokens, dims,
                                             generator=gen))


IDS = torch.tensor([[1, 5, 7, 9, 4, 2], [1, 4, 4, 9, 0, 0]])


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    # Tiny tensors: one thread is fastest, and much faster than two when
    # other processes share the machine's cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def trained():
    """A decoder briefly fit to 4 reports of 3-10 words, and its memory.

    At initialisation the tied embedding makes every step repeat its input;
    a little training gives varied sequences of different lengths, so
    that decoding tests compare real choices.
    """
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
        loss = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), ids[:, 1:].flatten(), ignore_index=PAD)
        optim.zero_grad()
        loss.backward()
        optim.step()
    return dec.eval(), visual


def test_shapes_tied_weights_and_padding_row():
    dec = _decoder()
    assert dec(_visual(), IDS).shape == (2, 6, V)
    assert dec.classifier.weight is dec.word_embed.weight
    assert dec.classifier.bias is None
    assert dec.word_embed.weight[PAD].abs().sum() == 0
    assert len(dec.layers) == 2
    # Memory of d_model channels needs no projection.
    same = _decoder(in_channels=16)
    assert isinstance(same.memory_proj, torch.nn.Identity)
    assert same(_visual(dims=16), IDS).shape == (2, 6, V)


def test_causal_mask_future_tokens_do_not_change_the_past():
    dec = _decoder()
    visual = _visual()
    logits = dec(visual, IDS)
    changed = IDS.clone()
    changed[:, 3] = 11
    other = dec(visual, changed)
    torch.testing.assert_close(other[:, :3], logits[:, :3], rtol=0, atol=0)
    assert not torch.allclose(other[:, 3:], logits[:, 3:])


def test_padding_keys_are_not_attended():
    dec = _decoder()
    visual = _visual(1)
    ids = torch.tensor([[1, 5, PAD, 7, 9]])
    logits = dec(visual, ids)
    with torch.no_grad():  # whatever the pad embedding, others ignore it
        dec.word_embed.weight[PAD] = torch.randn(16) * 10
    again = dec(visual, ids)
    keep = [0, 1, 3, 4]  # the pad position itself may change
    # Column 0 (the <pad> logit) follows the tied pad row; the rest not.
    torch.testing.assert_close(again[:, keep, 1:], logits[:, keep, 1:])
    assert not torch.allclose(again[:, 2], logits[:, 2])


@pytest.mark.parametrize('norm_first', [True, False])
def test_step_with_cache_equals_forward(norm_first):
    dec = _decoder(norm_first=norm_first)
    visual = _visual()
    expected = dec(visual, IDS).log_softmax(-1)
    state = dec.init_state(visual)
    assert state['self_k.0'].shape == (2, 4, 0, 4)
    assert state['cross_k.1'].shape == (2, 4, 5, 4)
    for t in range(IDS.shape[1]):
        log_probs, state = dec.step(IDS[:, t], state)
        torch.testing.assert_close(log_probs, expected[:, t], rtol=0,
                                   atol=1e-5)
    assert state['self_v.1'].shape == (2, 4, 6, 4)
    assert state['pos'].tolist() == [6, 6]


def test_masked_memory_tokens_are_not_attended():
    """``extras['token_mask']`` (a retrieval encoder's padding) hides memory
    tokens in training and in cached decoding; beam search keeps it."""
    dec = _decoder()
    visual = _visual()
    junk = torch.randn(2, 3, 6) * 10
    mask = torch.tensor([[True] * 5 + [False] * 3] * 2)
    padded = VisualFeatures(visual.global_feat,
                            torch.cat([visual.tokens, junk], 1),
                            extras=dict(token_mask=mask))
    expected = dec(visual, IDS)
    torch.testing.assert_close(dec(padded, IDS), expected)
    unmasked = padded.replace(extras={})
    assert not torch.allclose(dec(unmasked, IDS), expected)
    state = dec.init_state(padded)
    assert state['memory_mask'].tolist() == mask.tolist()
    for t in range(IDS.shape[1]):
        log_probs, state = dec.step(IDS[:, t], state)
        torch.testing.assert_close(log_probs, expected[:, t].log_softmax(-1),
                                   rtol=0, atol=1e-5)
    assert 'memory_mask' in index_state(state, torch.tensor([1, 1]))


def test_state_is_batch_first_and_reorderable():
    dec = _decoder()
    visual = _visual(batch=3)
    state = dec.init_state(visual)
    assert all(v.shape[0] == 3 for v in state.values())
    tokens = torch.tensor([1, 1, 1])
    _, state = dec.step(tokens, state)
    perm = torch.tensor([2, 0, 1])
    reordered = index_state(state, perm)
    a, _ = dec.step(torch.tensor([5, 6, 7]), state)
    b, _ = dec.step(torch.tensor([7, 5, 6]), reordered)
    torch.testing.assert_close(b, a[perm])


def _reference(dec, visual):
    """Decoding without the cache: forward on the growing prefix."""

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


def test_greedy_with_cache_equals_recomputing_the_prefix(trained):
    dec, visual = trained
    cached = greedy_decode(lambda: dec.init_state(visual), dec.step,
                           **_decode_kwargs(4))
    init_ref, step_ref = _reference(dec, visual)
    reference = greedy_decode(init_ref, step_ref, **_decode_kwargs(4))
    assert torch.equal(cached, reference)
    # Real, varied output: different rows and lengths, several words.
    assert len(set(map(tuple, cached.tolist()))) == 4
    assert len(set(_lengths(cached))) > 1 and max(_lengths(cached)) >= 5


def test_beam_search_with_cache(trained):
    dec, visual4 = trained
    visual = VisualFeatures(visual4.global_feat[2:], visual4.tokens[2:])
    out = beam_search(lambda: dec.init_state(visual), dec.step,
                      beam_size=3, **_decode_kwargs(2))
    assert out.shape[0] == 2 and 1 <= out.shape[1] <= 12
    assert not torch.equal(out[0], out[1]) and max(_lengths(out)) >= 5
    init_ref, step_ref = _reference(dec, visual)
    reference = beam_search(init_ref, step_ref, beam_size=3,
                            **_decode_kwargs(2))
    assert torch.equal(out, reference)
    # Rows of a batch do not mix: each equals decoding that image alone.
    for i in range(2):
        alone = VisualFeatures(visual.global_feat[i:i + 1],
                               visual.tokens[i:i + 1])
        single = beam_search(lambda: dec.init_state(alone), dec.step,
                             beam_size=3, **_decode_kwargs(1))
        n = single.shape[1]
        assert torch.equal(single[0], out[i, :n])
        assert (out[i, n:] == EOS).all()


def test_word_vectors_initialise_the_embedding(tmp_path):
    gen = torch.Generator().manual_seed(3)
    vectors = torch.randn(V, 16, generator=gen) * 5
    dec = _decoder(word_vectors=vectors)
    weight = dec.word_embed.weight.detach()
    assert weight[PAD].abs().sum() == 0
    centred = vectors - vectors.mean()
    scale = weight[5].norm() / centred[5].norm()
    torch.testing.assert_close(weight[4:], centred[4:] * scale)
    assert weight[1:].std().item() == pytest.approx(0.02, rel=0.1)
    # Other sizes: factorised embedding, still tied, from a .npy file.
    np.save(tmp_path / 'v.npy', np.random.default_rng(0).normal(
        size=(V, 10)).astype(np.float32))
    small = _decoder(word_vectors=str(tmp_path / 'v.npy'))
    assert small.word_embed.weight.shape == (V, 10)
    assert small.classifier.weight is small.word_embed.weight
    assert small(_visual(), IDS).shape == (2, 6, V)
    with pytest.raises(ValueError, match='has 13 rows but the vocabulary'):
        _decoder(vocab_size=14, word_vectors=str(tmp_path / 'v.npy'))


def test_clear_errors():
    dec = _decoder(max_len=4)
    with pytest.raises(ValueError, match='max_len=4'):
        dec(_visual(), IDS)
    state = dec.init_state(_visual())
    for t in range(4):
        _, state = dec.step(IDS[:, t], state)
    with pytest.raises(RuntimeError, match='max_len=4'):
        dec.step(IDS[:, 4], state)
    with pytest.raises(ValueError, match='in_channels=6'):
        dec(_visual(dims=7), IDS[:, :3])
    with pytest.raises(ValueError, match='num_heads=5'):
        _decoder(num_heads=5)


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
        decoder=dict(type='GPTDecoder', num_layers=1, d_model=32,
                     num_heads=4, ffn_dims=64),
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


@pytest.mark.parametrize('beam_size', [1, 3])
def test_report_generator_loss_and_predict(beam_size):
    model = _generator(beam_size=beam_size)
    assert model.decoder.in_channels == 10  # filled in from the backbone
    loss = model(**model.data_preprocessor(_batch(), training=True),
                 mode='loss')['loss_report']
    assert abs(loss.item() - np.log(len(model.tokenizer))) < 1.0
    loss.backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    model.eval()
    out = model(**model.data_preprocessor(_batch()), mode='predict')
    assert len(out) == 2 and all(isinstance(s.pred_report, str) for s in out)


def test_report_generator_overfits_two_reports():
    model = _generator()
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
