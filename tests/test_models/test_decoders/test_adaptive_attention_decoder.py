# Copyright (c) rrgkit contributors. All rights reserved.
import math

import pytest
import torch

from rrgkit.models.decoders import AdaptiveAttentionDecoder
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

IDS = torch.tensor([[1, 4, 5, 6, 2], [1, 7, 2, 0, 0]])


def _visual(batch=2, positions=4, channels=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randn(batch, positions, channels, generator=g)
    return VisualFeatures(tokens.mean(1), tokens)


def _decoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(vocab_size=11, in_channels=6, embed_dims=8, hidden_dims=10,
               attn_dims=5, dropout=0.0)
    cfg.update(kwargs)
    return AdaptiveAttentionDecoder(**cfg).eval()


def test_shapes_and_attention_distribution():
    dec = _decoder()
    logits, alphas, betas = dec.forward_with_attention(_visual(), IDS)
    assert logits.shape == (2, 5, 11)
    assert alphas.shape == (2, 5, 4 + 1)  # 4 positions + the sentinel
    assert betas.shape == (2, 5)
    assert torch.allclose(alphas.sum(-1), torch.ones(2, 5), atol=1e-6)
    assert torch.equal(betas, alphas[..., -1])
    assert (betas > 0).all() and (betas < 1).all()
    assert torch.equal(dec(_visual(), IDS), logits)
    # Several views: all their positions are attended.
    _, alphas, _ = dec.forward_with_attention(_visual(positions=7), IDS)
    assert alphas.shape == (2, 5, 8)


def test_forward_matches_step_by_step_decoding():
    dec = _decoder(dropout=0.5)  # eval mode: dropout is off
    visual = _visual()
    logits, alphas, betas = dec.forward_with_attention(visual, IDS)
    state = dec.init_state(visual)
    assert torch.equal(state['h'], torch.zeros(2, 10))
    for t in range(IDS.shape[1]):
        log_probs, state = dec.step(IDS[:, t], state)
        assert torch.allclose(log_probs, logits[:, t].log_softmax(-1),
                              atol=1e-5)
        assert torch.allclose(state['alpha'], alphas[:, t], atol=1e-6)
        assert torch.allclose(state['beta'], betas[:, t], atol=1e-6)


def test_sentinel_is_the_gated_memory_cell():
    dec = _decoder()
    with torch.no_grad():  # g_t = sigmoid(0) = 1/2
        for layer in (dec.gate_input, dec.gate_hidden):
            layer.weight.zero_()
        dec.gate_input.bias.zero_()
    _, state = dec.step(IDS[:, 0], dec.init_state(_visual()))
    assert torch.allclose(state['sentinel'], 0.5 * torch.tanh(state['c']))


def _set_scores(dec, spatial_bias, sentinel_bias):
    """Score ``5 * attn_dims * tanh(bias)`` for every spatial position and
    for the sentinel: the hidden and feature terms are zeroed."""
    with torch.no_grad():
        for layer in (dec.attn_feat, dec.attn_sentinel, dec.attn_hidden):
            layer.weight.zero_()
        dec.attn_hidden.bias.zero_()
        dec.attn_feat.bias.fill_(spatial_bias)
        dec.attn_sentinel.bias.fill_(sentinel_bias)
        dec.attn_score.weight.fill_(5.0)
        dec.attn_score.bias.zero_()


def test_dominant_sentinel_gives_beta_one_and_sentinel_context():
    dec = _decoder()
    _set_scores(dec, spatial_bias=-20.0, sentinel_bias=20.0)  # -25 vs +25
    _, alphas, betas = dec.forward_with_attention(_visual(), IDS)
    assert torch.allclose(betas, torch.ones(2, 5))
    # beta = 1 / (1 + 4 exp(-50)) exactly: four positions at -25, one at 25.
    assert betas[0, 0].item() == pytest.approx(1 / (1 + 4 * math.exp(-50)))
    state = dec.init_state(_visual())
    for t in range(IDS.shape[1]):
        log_probs, state = dec.step(IDS[:, t], state)
        assert torch.allclose(state['context'], state['sentinel'], atol=1e-6)
        expected = dec.classifier(state['sentinel'] + state['h'])
        assert torch.allclose(log_probs, expected.log_softmax(-1), atol=1e-5)


def test_ignored_sentinel_gives_the_spatial_context():
    dec = _decoder()
    _set_scores(dec, spatial_bias=20.0, sentinel_bias=-20.0)
    visual = _visual()
    _, alphas, betas = dec.forward_with_attention(visual, IDS)
    assert betas.max().item() < 1e-20
    # Equal spatial scores: uniform weights, c_hat = mean of v_i.
    assert torch.allclose(alphas[..., :-1], torch.full((2, 5, 4), 0.25))
    _, state = dec.step(IDS[:, 0], dec.init_state(visual))
    mean_v = torch.relu(dec.token_embed[0](visual.tokens)).mean(1)
    assert torch.allclose(state['context'], mean_v, atol=1e-6)


def test_image_and_words_change_the_output():
    dec = _decoder()
    a = dec(_visual(seed=0), IDS)
    b = dec(_visual(seed=1), IDS)
    assert not torch.allclose(a[:, 0], b[:, 0])
    c = dec(_visual(seed=0), torch.tensor([[1, 4, 9, 6, 2], [1, 7, 2, 0, 0]]))
    assert torch.allclose(a[:, :2], c[:, :2]) and \
        not torch.allclose(a[0, 2:], c[0, 2:])


def test_gradients_reach_gate_attention_and_image():
    dec = _decoder().train()
    visual = _visual()
    visual.tokens.requires_grad_(True)
    dec(visual, IDS).logsumexp(-1).sum().backward()
    for param in (dec.gate_input.weight, dec.gate_hidden.weight,
                  dec.attn_sentinel.weight, dec.attn_feat.weight,
                  dec.global_embed[0].weight):
        assert param.grad.abs().sum() > 0
    assert visual.tokens.grad.abs().sum() > 0


def test_errors_are_clear():
    with pytest.raises(ValueError, match='hidden_dims must be a positive'):
        _decoder(hidden_dims=0)
    with pytest.raises(ValueError, match='attn_dims must be a positive'):
        _decoder(attn_dims=2.5)
    with pytest.raises(ValueError, match=r'dropout must be in \[0, 1\)'):
        _decoder(dropout=1.0)
    with pytest.raises(ValueError, match='pad_id=11 is outside'):
        _decoder(pad_id=11)
    dec = _decoder()
    with pytest.raises(ValueError, match='in_channels=6 but visual.tokens '
                       'has 7 channels'):
        dec(_visual(channels=7), IDS)
    with pytest.raises(ValueError, match='N >= 1'):
        dec(_visual(positions=0), IDS)
    with pytest.raises(ValueError, match=r'input_ids must be \(B, T\)'):
        dec(_visual(), IDS[0])


REPORTS = [
    'The heart is normal. No effusion.',
    'A nodule in the right lung. No effusion.',
    'The heart is normal. A nodule in the left lung.',
]


def _generator(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='ReportGenerator',
        backbone=dict(type='DenseNet',
                      arch=dict(growth_rate=4, depths=[1, 1],
                                init_channels=8)),
        decoder=dict(type='AdaptiveAttentionDecoder', embed_dims=16,
                     hidden_dims=24, attn_dims=16, dropout=0.0),
        tokenizer=ReportTokenizer().build_vocab(REPORTS),
        max_len=20,
        **kwargs))


def _batch(n=2):
    inputs = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8,
                            generator=torch.Generator().manual_seed(i))
              for i in range(n)]
    inputs[1] = 255 - inputs[0]  # distinct images
    samples = [ReportDataSample().set_gt_report(REPORTS[i % 3])
               for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def test_report_generator_trains_and_beam_search_decodes():
    model = _generator(beam_size=2)
    tok = model.tokenizer
    assert model.decoder.in_channels == 10  # filled in from the backbone
    assert model.decoder.vocab_size == len(tok)
    assert model.decoder.word_embed.padding_idx == tok.pad_id
    data = _batch()
    loss = model(**model.data_preprocessor(data, training=True),
                 mode='loss')['loss_report']
    assert abs(loss.item() - math.log(len(tok))) < 1.0
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = model(**model.data_preprocessor(data, training=True),
                     mode='loss')['loss_report']
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    for beam_size in (2, 1):
        model.beam_size = beam_size
        out = model(**model.data_preprocessor(data), mode='predict')
        assert [s.pred_report for s in out] == \
            [s.gt_reports[0] for s in out]
