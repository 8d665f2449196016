# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.models.decoders import AttentionLSTMDecoder
from rrgkit.models.utils.visual_features import VisualFeatures


def _visual(batch=2, positions=4, channels=6, seed=0, cmap=True):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randn(batch, positions, channels, generator=g)
    extras = {}
    if cmap:
        extras['class_map'] = torch.randn(batch, positions, generator=g)
    return VisualFeatures(tokens.mean(1), tokens, None, extras)


def _decoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(vocab_size=11, in_channels=6, embed_dims=8, hidden_dims=10,
               attn_dims=5, dropout=0.0)
    cfg.update(kwargs)
    return AttentionLSTMDecoder(**cfg).eval()


@pytest.mark.parametrize('attention', ['soft', 'aas'])
def test_forward_matches_step_by_step_decoding(attention):
    dec = _decoder(attention=attention, num_positions=4, num_tasks=3)
    visual = _visual()
    ids = torch.tensor([[1, 4, 5, 6], [1, 7, 2, 0]])
    tasks = torch.tensor([0, 2])
    logits = dec(visual, ids, tasks)
    assert logits.shape == (2, 4, 11)
    state = dec.init_state(visual, tasks)
    for t in range(ids.shape[1]):
        log_probs, state = dec.step(ids[:, t], state)
        assert torch.allclose(log_probs, logits[:, t].log_softmax(-1),
                              atol=1e-5)
        assert torch.allclose(state['alpha'].sum(-1), torch.ones(2))


def test_masked_tokens_get_no_attention_and_stay_out_of_the_mean():
    dec = _decoder()
    visual = _visual(cmap=False)
    junk = torch.randn(2, 3, 6) * 10
    mask = torch.tensor([[True] * 4 + [False] * 3] * 2)
    padded = VisualFeatures(visual.global_feat,
                            torch.cat([visual.tokens, junk], 1), None,
                            dict(token_mask=mask))
    ids = torch.tensor([[1, 4, 5, 6], [1, 7, 2, 0]])
    logits, alphas = dec.forward_with_attention(padded, ids)
    expected, expected_alphas = dec.forward_with_attention(visual, ids)
    torch.testing.assert_close(logits, expected)
    assert alphas.shape == (2, 4, 7)
    assert alphas[..., 4:].abs().max() == 0
    torch.testing.assert_close(alphas[..., :4], expected_alphas)
    assert not torch.allclose(
        dec(padded.replace(extras={}), ids), expected)


def test_aas_attention_is_the_softmax_of_the_sharpened_scores():
    dec = _decoder(attention='aas', num_positions=4)
    with torch.no_grad():
        dec.attn_hidden.weight.zero_()
        dec.attn_hidden.bias.zero_()
        dec.attn_score.weight.copy_(torch.eye(4))
        dec.attn_score.bias.zero_()
    visual = _visual()
    state = dec._prepare(visual)
    alpha, context = dec.attend(torch.randn(2, 10), state)
    cmap = visual.extras['class_map']
    expected = torch.tanh(cmap).softmax(-1)
    assert torch.allclose(alpha, expected, atol=1e-6)
    assert torch.allclose(
        context, (expected.unsqueeze(-1) * visual.tokens).sum(1), atol=1e-6)


def test_task_token_changes_the_output_and_is_required():
    dec = _decoder(num_tasks=2)
    visual = _visual()
    ids = torch.tensor([[1, 4], [1, 4]])
    a = dec(visual, ids, torch.tensor([0, 0]))
    b = dec(visual, ids, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match='task_ids'):
        dec(visual, ids)
    with pytest.raises(ValueError, match='outside 0..1'):
        dec(visual, ids, torch.tensor([0, 2]))


def test_attention_maps_for_pictures():
    dec = _decoder()
    logits, alphas = dec.forward_with_attention(
        _visual(), torch.tensor([[1, 4, 5], [1, 6, 7]]))
    assert logits.shape == (2, 3, 11) and alphas.shape == (2, 3, 4)
    assert torch.allclose(alphas.sum(-1), torch.ones(2, 3))


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match='num_positions'):
        _decoder(attention='aas')
    with pytest.raises(ValueError, match="'soft', 'aas'"):
        _decoder(attention='hard')
    dec = _decoder(attention='aas', num_positions=9)
    with pytest.raises(ValueError, match='num_positions=9.*4 positions'):
        dec(_visual(), torch.tensor([[1, 2]] * 2))
    with pytest.raises(ValueError, match='AASProposer'):
        _decoder(attention='aas', num_positions=4)(
            _visual(cmap=False), torch.tensor([[1, 2]] * 2))


def test_doubly_stochastic_regulariser_by_hand():
    dec = _decoder(doubly_stochastic=0.5, pad_id=0).train()
    visual = _visual()
    ids = torch.tensor([[1, 4, 5], [1, 6, 0]])  # second row: one pad step
    _, alphas = dec.forward_with_attention(visual, ids)
    dec._aux.clear()
    torch.manual_seed(0)
    dec(visual, ids)
    aux = dec.aux_losses()
    # Recompute with the same (dropout-free) forward.
    mask = torch.tensor([[1.0, 1, 1], [1, 1, 0]]).unsqueeze(-1)
    coverage = (alphas * mask).sum(1)
    expected = 0.5 * ((1 - coverage)**2).sum(1).mean()
    assert aux['loss_attention'].item() == pytest.approx(expected.item(),
                                                         rel=1e-5)
    assert dec.aux_losses() == {}  # consumed
    dec.eval()
    dec(visual, ids)
    assert dec.aux_losses() == {}  # only in training
