# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from rrgkit.models.encoders import TransformerVisualEncoder
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils import VisualFeatures
from rrgkit.registry import MODELS


def _encoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(in_channels=6, d_model=8, num_heads=2, num_layers=2,
               ffn_dims=16, dropout=0.0)
    cfg.update(kwargs)
    return TransformerVisualEncoder(**cfg).eval()


def _visual(batch=2, tokens=5, dims=6):
    gen = torch.Generator().manual_seed(1)
    return VisualFeatures(
        global_feat=torch.randn(batch, dims, generator=gen),
        tokens=torch.randn(batch, tokens, dims, generator=gen),
        feat_map=torch.randn(batch, dims, 1, 5, generator=gen),
        extras=dict(tag_probs=torch.rand(batch, 3, generator=gen)))


def test_shapes_and_outputs():
    enc = _encoder()
    visual = _visual()
    out, losses = enc(visual)
    assert losses == {}
    assert enc.out_channels == 8
    assert out.tokens.shape == (2, 5, 8)
    torch.testing.assert_close(out.global_feat, out.tokens.mean(1))
    assert out.feat_map is visual.feat_map and out.extras is visual.extras
    # The final LayerNorm starts with unit scale: every token is normalised.
    torch.testing.assert_close(out.tokens.mean(-1), torch.zeros(2, 5),
                               rtol=0, atol=1e-5)
    assert len(enc.layers) == 2


def test_no_layers_is_projection_then_layer_norm():
    enc = _encoder(num_layers=0)
    tokens = _visual().tokens
    linear = enc.input_proj[0]
    expected = nn.functional.layer_norm(
        torch.relu(tokens @ linear.weight.T + linear.bias), (8, ))
    torch.testing.assert_close(enc.encode(tokens), expected)


def test_tokens_interact_but_have_no_position():
    enc = _encoder()
    tokens = _visual().tokens
    out = enc.encode(tokens)
    # Self-attention mixes tokens: changing one changes the others.
    changed = tokens.clone()
    changed[:, 0] += 1.0
    assert not torch.allclose(enc.encode(changed)[:, 1:], out[:, 1:])
    # No position encoding (as in R2Gen): permuting tokens permutes outputs.
    perm = torch.tensor([3, 0, 4, 1, 2])
    torch.testing.assert_close(enc.encode(tokens[:, perm]), out[:, perm])


def test_clear_errors():
    with pytest.raises(ValueError, match='num_heads=3'):
        _encoder(num_heads=3)
    with pytest.raises(ValueError, match='num_layers'):
        _encoder(num_layers=-1)
    with pytest.raises(ValueError, match='in_channels'):
        _encoder(in_channels=None)
    enc = _encoder()
    with pytest.raises(ValueError, match='in_channels=6'):
        enc(_visual(dims=7))
    with pytest.raises(ValueError, match=r'\(B, N, C\)'):
        enc(VisualFeatures(torch.zeros(2, 6), torch.zeros(2, 6)))


def test_sizes_are_filled_in_by_the_generator():
    """Reusable by other decoders: here ASGK's GPT decoder."""
    reports = ['the heart is normal .', 'a nodule in the lung .']
    model = MODELS.build(dict(
        type='ReportGenerator',
        backbone=dict(type='DenseNet', arch=dict(
            growth_rate=4, depths=[1, 1], init_channels=8)),
        encoder=dict(type='TransformerVisualEncoder', d_model=16,
                     num_heads=2, num_layers=1, ffn_dims=32),
        decoder=dict(type='GPTDecoder', d_model=16, num_heads=2,
                     num_layers=1, ffn_dims=32),
        tokenizer=ReportTokenizer().build_vocab(reports),
        max_len=12))
    assert model.encoder.in_channels == 10  # the tiny DenseNet's channels
    assert model.decoder.in_channels == 16  # the encoder's d_model
    images = torch.rand(2, 3, 32, 32)
    visual, losses = model.extract_feat(images)
    assert visual.tokens.shape == (2, 16, 16) and losses == {}  # 4x4
    assert model(images).shape == (2, 16)  # 'tensor' mode: global_feat
