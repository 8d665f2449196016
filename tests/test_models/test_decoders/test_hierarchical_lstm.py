# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.models.decoders import (CoAttention, HierarchicalLSTMDecoder,
                                    SentenceLSTM, WordLSTM)
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS


def _visual(batch=2, positions=5, channels=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randn(batch, positions, channels, generator=g)
    return VisualFeatures(tokens.mean(1), tokens)


def _decoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(vocab_size=11, in_channels=6, num_tags=7, top_k=3,
               embed_dims=8, sentence_hidden_dims=10, word_hidden_dims=12,
               attn_dims=5, context_dims=9, dropout=0.0)
    cfg.update(kwargs)
    return HierarchicalLSTMDecoder(**cfg).eval()


def test_components_are_registered():
    for name in ('CoAttention', 'SentenceLSTM', 'WordLSTM',
                 'HierarchicalLSTMDecoder'):
        assert MODELS.get(name) is not None


def test_co_attention_weights_sum_to_one_and_shapes():
    torch.manual_seed(0)
    attn = CoAttention(visual_dims=6, semantic_dims=4, hidden_dims=3,
                       attn_dims=5, out_dims=7)
    visual, semantic = torch.randn(2, 5, 6), torch.randn(2, 3, 4)
    context, alpha_v, alpha_a = attn(visual, semantic, torch.randn(2, 3))
    assert context.shape == (2, 7)
    assert alpha_v.shape == (2, 5) and alpha_a.shape == (2, 3)
    assert torch.allclose(alpha_v.sum(-1), torch.ones(2))
    assert torch.allclose(alpha_a.sum(-1), torch.ones(2))
    assert (alpha_v > 0).all() and (alpha_a > 0).all()
    # The query matters: another sentence state moves the attention.
    _, other_v, _ = attn(visual, semantic, 5 * torch.randn(2, 3))
    assert not torch.allclose(alpha_v, other_v)


def test_co_attention_context_is_the_fused_weighted_means():
    torch.manual_seed(0)
    attn = CoAttention(6, 4, 3, attn_dims=5, out_dims=7)
    with torch.no_grad():  # flat scores: uniform weights
        for branch in (attn.visual_attn, attn.semantic_attn):
            branch.score.weight.zero_()
            branch.score.bias.zero_()
    visual, semantic = torch.randn(2, 5, 6), torch.randn(2, 3, 4)
    context, alpha_v, alpha_a = attn(visual, semantic, torch.randn(2, 3))
    assert torch.allclose(alpha_v, torch.full((2, 5), 0.2))
    assert torch.allclose(alpha_a, torch.full((2, 3), 1 / 3))
    expected = attn.fuse(torch.cat([visual.mean(1), semantic.mean(1)], -1))
    assert torch.allclose(context, expected, atol=1e-6)


def test_sentence_lstm_topic_and_stop_use_both_states():
    torch.manual_seed(0)
    lstm = SentenceLSTM(context_dims=4, hidden_dims=3, topic_dims=5)
    context = torch.randn(2, 4)
    h0, c0 = torch.randn(2, 3), torch.randn(2, 3)
    topic, stop, (h, c) = lstm(context, (h0, c0))
    assert topic.shape == (2, 5) and stop.shape == (2, )
    assert h.shape == c.shape == (2, 3)
    h_ref, _ = lstm.cell(context, (h0, c0))
    assert torch.allclose(h, h_ref)
    assert torch.allclose(
        topic, torch.tanh(lstm.topic_hidden(h) + lstm.topic_context(context)))
    expected = lstm.stop_out(
        torch.tanh(lstm.stop_prev(h0) + lstm.stop_cur(h))).squeeze(-1)
    assert torch.allclose(stop, expected)


def test_word_lstm_forward_matches_step_by_step_decoding():
    torch.manual_seed(0)
    word = WordLSTM(vocab_size=11, embed_dims=8, hidden_dims=6).eval()
    topic = torch.randn(2, 8)
    ids = torch.tensor([[1, 4, 5, 6], [1, 7, 2, 0]])
    logits = word(topic, ids)
    assert logits.shape == (2, 4, 11)
    state = word.init_state(topic)
    assert state['h'].shape == (2, 1, 6)
    for t in range(ids.shape[1]):
        log_probs, state = word.step(ids[:, t], state)
        assert torch.allclose(log_probs, logits[:, t].log_softmax(-1),
                              atol=1e-5)


def test_forward_shapes_and_missing_sentences():
    dec = _decoder()
    visual = _visual()
    # Study 0 has two sentences, study 1 one (the second row is padding).
    ids = torch.tensor([[[1, 4, 5, 2], [1, 6, 2, 0]],
                        [[1, 7, 8, 2], [0, 0, 0, 0]]])
    out = dec(visual, ids)
    assert out['tag_logits'].shape == (2, 7)
    assert out['stop_logits'].shape == (2, 2)
    assert out['word_logits'].shape == (2, 2, 3, 11)
    assert out['visual_attention'].shape == (2, 2, 5)
    assert out['semantic_attention'].shape == (2, 2, 3)
    assert torch.allclose(out['visual_attention'].sum(-1), torch.ones(2, 2))
    assert torch.allclose(out['semantic_attention'].sum(-1),
                          torch.ones(2, 2))
    assert (out['word_logits'][1, 1] == 0).all()
    # Sentence-level teacher forcing equals the step-by-step loop.
    state = dec.init_sentence_state(visual, out['tag_logits'])
    for s in range(2):
        topic, stop, state = dec.sentence_step(state)
        assert torch.allclose(stop, out['stop_logits'][:, s], atol=1e-6)
        words = dec.word_lstm(topic, ids[:, s, :-1])
        assert torch.allclose(words[0], out['word_logits'][0, s], atol=1e-6)


def test_semantic_features_are_the_top_k_tag_embeddings():
    dec = _decoder()
    visual = _visual()
    logits = torch.tensor([[0., 5., 1., 4., -1., 3., 2.],
                           [9., 0., 0., 0., 0., 8., 7.]])
    state = dec.init_sentence_state(visual, logits)
    assert state['top_tags'].tolist() == [[1, 3, 5], [0, 5, 6]]
    assert torch.equal(state['semantic'],
                       dec.tag_embed(torch.tensor([[1, 3, 5], [0, 5, 6]])))


def test_word_loss_reaches_attention_tags_and_backbone_features():
    dec = _decoder().train()
    tokens = torch.randn(2, 5, 6, requires_grad=True)
    visual = VisualFeatures(tokens.mean(1), tokens)
    ids = torch.tensor([[[1, 4, 2]], [[1, 5, 2]]])
    dec(visual, ids)['word_logits'].sum().backward()
    assert tokens.grad.abs().sum() > 0
    assert dec.co_attention.visual_attn.key.weight.grad.abs().sum() > 0
    assert dec.tag_embed.weight.grad.abs().sum() > 0
    assert dec.mlc.weight.grad is None  # top-k selection is not smooth


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='top_k=8 must be in 1..num_tags=7'):
        _decoder(top_k=8)
    with pytest.raises(ValueError, match=r'\(B, S, L\)'):
        _decoder()(_visual(), torch.ones(2, 4, dtype=torch.long))
