# Copyright (c) rrgkit contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from rrgkit.models.encoders import (TagGraphEncoder, build_cooccurrence_graph,
                                    graph_to_adjacency, save_knowledge_graph)
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

T, D, DM = 4, 6, 8


def _encoder(seed=0, **kwargs):
    torch.manual_seed(seed)
    cfg = dict(type='TagGraphEncoder', in_channels=D, num_tags=T,
               d_model=DM, num_heads=2, dropout=0.0)
    cfg.update(kwargs)
    return MODELS.build(cfg).eval()


def _visual(batch=3, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return VisualFeatures(
        torch.randn(batch, D, generator=gen),
        torch.randn(batch, 5, D, generator=gen),
        extras=dict(kept=torch.ones(1)))


def _samples(tags):
    return [ReportDataSample().set_gt_tags(t) for t in tags]


def test_shapes_and_outputs():
    enc = _encoder(num_layers=2)
    assert enc.out_channels == DM
    visual = _visual()
    out, losses = enc(visual)
    assert losses == {}
    assert out.tokens.shape == (3, T, DM)
    assert torch.allclose(out.global_feat, out.tokens.mean(1))
    assert out.extras['tag_probs'].shape == (3, T)
    assert out.extras['graph_attention'].shape == (3, T, T)
    assert torch.allclose(out.extras['tag_probs'],
                          out.extras['tag_logits'].sigmoid())
    assert out.extras['visual_tokens'] is visual.tokens
    assert out.extras['visual_global_feat'] is visual.global_feat
    assert 'kept' in out.extras


@pytest.mark.parametrize('prior', [None, torch.rand(T, T)])
def test_attention_rows_sum_to_one(prior):
    out, _ = _encoder(prior_graph=prior)(_visual())
    attn = out.extras['graph_attention']
    assert (attn >= 0).all()
    assert torch.allclose(attn.sum(-1), torch.ones(3, T))


def test_identity_and_full_priors_give_different_outputs():
    visual = _visual()
    ident, _ = _encoder(prior_graph=torch.eye(T))(visual)
    full, _ = _encoder(prior_graph=torch.ones(T, T))(visual)
    assert not torch.allclose(ident.tokens, full.tokens, atol=1e-4)
    assert not torch.allclose(ident.extras['tag_probs'],
                              full.extras['tag_probs'], atol=1e-5)
    # a = 0.5 at init: half the learned attention plus half the prior.
    ia, fa = ident.extras['graph_attention'], full.extras['graph_attention']
    assert torch.allclose(ia - fa, 0.5 * (torch.eye(T) - 1 / T), atol=1e-6)


def _hand_logits(enc, f):
    """Steps 1-4 and 6 of the class docstring, from the parameters."""
    values = torch.sigmoid(f @ enc.value_head.weight.T + enc.value_head.bias)
    proj = f @ enc.feat_proj.weight.T + enc.feat_proj.bias
    h = enc.tag_embed * values[..., None] + proj[:, None]
    h = F.layer_norm(h, (DM, ), enc.input_norm.weight, enc.input_norm.bias)
    q = h @ enc.query.weight.T + enc.query.bias
    k = h @ enc.key.weight.T + enc.key.bias
    attn = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(DM), -1)
    mix = torch.sigmoid(enc.prior_logit)
    attn = (1 - mix) * attn + mix * enc.prior_adjacency
    msg = attn @ (h @ enc.message.weight.T + enc.message.bias)
    h = F.layer_norm(h + msg, (DM, ), enc.graph_norm.weight,
                     enc.graph_norm.bias)
    return (h * enc.cls_weight).sum(-1) + enc.cls_bias


def test_bce_loss_matches_hand_computation():
    prior = torch.tensor([[1., 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1],
                          [1, 1, 1, 1]])
    enc = _encoder(num_layers=0, prior_graph=prior, loss_weight=2.0)
    assert torch.allclose(enc.prior_adjacency.sum(1), torch.ones(T))
    visual = _visual(batch=2)
    tags = torch.tensor([[1., 0, 0, 1], [0, 1, 1, 1]])
    out, losses = enc(visual, _samples(tags))
    probs = torch.sigmoid(_hand_logits(enc, visual.global_feat))
    assert torch.allclose(out.extras['tag_probs'], probs, atol=1e-6)
    expected = 2.0 * F.binary_cross_entropy(probs, tags)
    assert losses['loss_tag_graph'].item() == pytest.approx(
        expected.item(), rel=1e-5)


def test_loss_uses_final_values_with_layers_and_skips_untagged_samples():
    enc = _encoder(num_layers=1)
    visual = _visual(batch=3)
    samples = _samples([[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 0, 0]])
    del samples[1].gt_tags
    out, losses = enc(visual, samples)
    probs = out.extras['tag_probs'][[0, 2]]
    target = torch.tensor([[1., 0, 0, 1], [0, 0, 0, 0]])
    assert losses['loss_tag_graph'].item() == pytest.approx(
        F.binary_cross_entropy(probs, target).item(), rel=1e-5)


def test_no_loss_without_gt_tags():
    enc = _encoder()
    assert enc(_visual())[1] == {}
    untagged = [ReportDataSample().set_gt_report('x') for _ in range(3)]
    assert enc(_visual(), untagged)[1] == {}


def test_gradients_reach_the_node_value_head():
    enc = _encoder().train()
    _, losses = enc(_visual(), _samples(torch.eye(T)[:3]))
    losses['loss_tag_graph'].backward()
    assert enc.value_head.weight.grad.abs().sum() > 0
    assert enc.tag_embed.grad.abs().sum() > 0


def test_bad_inputs_give_clear_errors():
    enc = _encoder()
    with pytest.raises(ValueError, match=r'gt_tags has 3 tags but num_tags'):
        enc(_visual(), _samples([[1, 0, 0]] * 3))
    with pytest.raises(ValueError, match=r'\(B, 6\)'):
        enc(VisualFeatures(torch.randn(2, 7), torch.randn(2, 1, 7)))
    with pytest.raises(ValueError, match=r'expected \(4, 4\)'):
        _encoder(prior_graph=torch.eye(3))
    with pytest.raises(ValueError, match='divisible'):
        _encoder(num_heads=3)
    with pytest.raises(ValueError, match='in_channels'):
        TagGraphEncoder(in_channels=None, num_tags=T)


def test_prior_from_a_knowledge_graph_file(tmp_path):
    names = ['w', 'x', 'y', 'z']
    tags = [[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 1, 0]]
    graph = build_cooccurrence_graph(tags, names, normalise='conditional')
    for i, name in enumerate(names):
        graph.nodes[name]['feature'] = [float(i), 1.0, -1.0]
    path = tmp_path / 'kg.json'
    save_knowledge_graph(graph, path)
    enc = _encoder(prior_graph=str(path), tag_names=names)
    assert torch.equal(enc.prior_adjacency, graph_to_adjacency(graph, names))
    assert enc.node_feat_proj.in_features == 3
    out, _ = enc(_visual())
    assert torch.allclose(out.extras['graph_attention'].sum(-1),
                          torch.ones(3, T))
    with pytest.raises(ValueError, match='tag_names'):
        _encoder(prior_graph=str(path))
    with pytest.raises(ValueError, match=r"missing from the graph: \['v'\]"):
        _encoder(prior_graph=str(path), tag_names=['v', 'x', 'y', 'z'])


def test_report_generator_with_tag_graph_encoder():
    torch.manual_seed(0)
    reports = ['The heart is normal.', 'A nodule in the right lung.']
    model = MODELS.build(dict(
        type='ReportGenerator',
        backbone=dict(type='DenseNet',
                      arch=dict(growth_rate=4, depths=[1, 1],
                                init_channels=8)),
        encoder=dict(type='TagGraphEncoder', in_channels=10, num_tags=T,
                     d_model=16, num_heads=2),
        decoder=dict(type='LSTMDecoder', embed_dims=16, hidden_dims=24),
        tokenizer=ReportTokenizer(language='en').build_vocab(reports),
        max_len=12))
    assert model.decoder.image_embed[0].in_features == 16
    samples = [ReportDataSample().set_gt_report(r).set_gt_tags(t)
               for r, t in zip(reports, [[1, 0, 0, 0], [0, 1, 1, 0]])]
    images = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
              for _ in reports]
    data = model.data_preprocessor(
        dict(inputs=images, data_samples=samples), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_report', 'loss_tag_graph'}
    sum(losses.values()).backward()
    assert model.encoder.value_head.weight.grad.abs().sum() > 0
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    model.eval()
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples))
    out = model(**data, mode='predict')
    assert [isinstance(s.pred_report, str) for s in out] == [True, True]
