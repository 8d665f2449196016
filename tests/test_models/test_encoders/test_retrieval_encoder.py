# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from rrgkit.models.decoders import GPTDecoder
from rrgkit.models.encoders import RetrievalEncoder
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.models.utils import VisualFeatures
from rrgkit.models.utils.memory_bank import RetrievalBankError
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

V, PAD, C = 13, 0, 6
# Bank: 4 images whose keys are unit vectors in the first two channels
# (0, 90, 180, 53.13 degrees) and reports of 3, 5, 2 and 4 tokens.
KEYS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
REPORTS = torch.tensor([[1, 5, 2, 0, 0], [1, 6, 7, 8, 2], [1, 2, 0, 0, 0],
                        [1, 9, 9, 2, 0]])
IDS = ['a', 'b', 'c', 'd']


def _encoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(in_channels=C, vocab_size=V, num_neighbours=2, key_dims=None,
               max_report_len=8, dropout=0.0)
    cfg.update(kwargs)
    enc = RetrievalEncoder(**cfg).eval()
    keys = F.pad(KEYS, (0, C - 2)) if cfg['key_dims'] is None else None
    if keys is not None:
        enc.set_bank(keys, REPORTS, IDS, built_at=3)
    return enc


def _visual(directions, tokens=4):
    """Global features pointing at ``directions`` (2-d), scaled by 3."""
    g = torch.Generator().manual_seed(1)
    feat = F.pad(torch.tensor(directions) * 3.0, (0, C - 2))
    return VisualFeatures(feat, torch.randn(len(directions), tokens, C,
                                            generator=g))


def _samples(*ids):
    return [ReportDataSample(metainfo=dict(img_id=i)) for i in ids]


def test_neighbours_shapes_and_mask():
    enc = _encoder()
    visual = _visual([[0.8, 0.6], [0.0, 1.0]])
    out, losses = enc(visual)
    assert losses == {} and enc.out_channels == C
    # cosine to a, b, c, d: (0.8, 0.6, -0.8, 0.96) and (0, 1, 0, 0.8).
    assert out.extras['retrieved_index'].tolist() == [[3, 0], [1, 3]]
    torch.testing.assert_close(out.extras['retrieval_similarity'],
                               torch.tensor([[0.96, 0.8], [1.0, 0.8]]))
    # 4 image tokens + 2 neighbours x 5 positions (the longest retrieved
    # report, b's, has 5 tokens).
    assert out.tokens.shape == (2, 4 + 2 * 5, C)
    torch.testing.assert_close(out.tokens[:, :4], visual.tokens)
    mask = out.extras['token_mask']
    words = [[1, 1, 1, 1, 0], [1, 1, 1, 0, 0],  # d then a
             [1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]  # b then d
    expected = torch.tensor([[1] * 4 + words[0] + words[1],
                             [1] * 4 + words[2] + words[3]]).bool()
    assert mask.tolist() == expected.tolist()
    assert out.tokens[~mask].abs().max() == 0  # padding is zero
    assert out.global_feat is visual.global_feat


def test_token_is_word_plus_position_plus_rank_plus_similarity():
    enc = _encoder()
    out, _ = enc(_visual([[0.8, 0.6]]))
    # Second neighbour (a, similarity 0.8), its position 1: word 5.
    x = (enc.word_embed.weight[5] + enc.pos_embed.weight[1] +
         enc.rank_embed.weight[1] + enc.sim_proj(torch.tensor([0.8])))
    expected = F.layer_norm(x, (C, ), enc.norm.weight, enc.norm.bias)
    torch.testing.assert_close(out.tokens[0, 4 + 4 + 1], expected)


def test_self_exclusion_by_image_id():
    enc = _encoder()
    visual = _visual([[0.6, 0.8], [0.6, 0.8]])  # exactly d's key
    out, _ = enc(visual, _samples('d', 'zz'))
    # d never retrieves itself (next: b 0.8, a 0.6); an image not in the
    # bank retrieves d.
    assert out.extras['retrieved_index'].tolist() == [[1, 0], [3, 1]]
    out, _ = _encoder(exclude_self=False)(visual, _samples('d', 'zz'))
    assert out.extras['retrieved_index'].tolist() == [[3, 1], [3, 1]]


def test_projection_learns_through_the_similarity_feature():
    for use_similarity, learns in ((True, True), (False, False)):
        enc = _encoder(key_dims=4, use_similarity=use_similarity).train()
        g = torch.Generator().manual_seed(0)
        enc.set_bank(F.normalize(torch.randn(4, 4, generator=g), dim=-1),
                     REPORTS, IDS)
        out, _ = enc(_visual([[0.8, 0.6], [0.0, 1.0]]))
        out.tokens.pow(2).sum().backward()
        grad = enc.key_proj.weight.grad
        assert (grad is not None and grad.abs().sum() > 0) == learns
        assert enc.word_embed.weight.grad.abs().sum() > 0


def test_bank_travels_in_the_state_dict():
    enc = _encoder()
    state = enc.state_dict()
    assert state['_extra_state']['built_at'] == 3
    other = _encoder(key_dims=None)
    other.bank = type(other.bank)()  # empty
    other.load_state_dict(state)
    assert other.bank.image_ids == IDS and other.bank.built_at == 3
    assert other.bank.report_ids.tolist() == REPORTS.tolist()
    visual = _visual([[0.8, 0.6]])
    torch.testing.assert_close(other(visual)[0].tokens, enc(visual)[0].tokens)


def test_collecting_mode_returns_the_key_only():
    enc = _encoder(key_dims=3)
    visual = _visual([[0.8, 0.6]])
    with enc.collecting():
        out, _ = enc(visual)
    assert out.tokens is visual.tokens
    key = out.extras['retrieval_key']
    torch.testing.assert_close(key, F.normalize(enc.key_proj(
        visual.global_feat), dim=-1))
    with pytest.raises(RetrievalBankError, match='RetrievalBankHook'):
        enc(visual)  # the bank is empty


def test_clear_errors():
    with pytest.raises(ValueError, match='num_neighbours'):
        _encoder(num_neighbours=0)
    with pytest.raises(ValueError, match='max_report_len=8'):
        _encoder().set_bank(F.pad(KEYS, (0, 4)), torch.ones(4, 9), IDS)
    with pytest.raises(RetrievalBankError, match='num_neighbours'):
        _encoder(num_neighbours=4)(_visual([[1.0, 0.0]]), _samples('a'))


def test_the_decoder_sees_the_retrieved_words():
    """GPT's output changes with the retrieved words, not with padding."""
    enc = _encoder()
    dec = GPTDecoder(V, in_channels=C, d_model=8, num_heads=2, num_layers=1,
                     ffn_dims=16, max_len=8).eval()
    visual = _visual([[0.8, 0.6], [0.0, 1.0]])
    ids = torch.tensor([[1, 5, 6], [1, 7, 8]])
    logits = dec(enc(visual)[0], ids)
    # Alone, the first image's neighbours (d, a) are padded to 4 positions,
    # not 5: the extra padding changes nothing.
    alone = visual.replace(global_feat=visual.global_feat[:1],
                           tokens=visual.tokens[:1])
    assert enc(alone)[0].tokens.shape == (1, 4 + 2 * 4, C)
    torch.testing.assert_close(dec(enc(alone)[0], ids[:1]), logits[:1])
    enc.bank.report_ids[3, 1] = 4  # a word of d (retrieved by both)
    changed = dec(enc(visual)[0], ids)
    assert not torch.allclose(changed[0], logits[0])
    assert not torch.allclose(changed[1], logits[1])


def test_generator_fills_in_the_sizes():
    reports = ['the heart is normal .', 'a nodule in the lung .']
    tokenizer = ReportTokenizer().build_vocab(reports)
    model = MODELS.build(dict(
        type='ReportGenerator',
        backbone=dict(type='DenseNet', arch=dict(
            growth_rate=4, depths=[1, 1], init_channels=8)),
        encoder=dict(type='RetrievalEncoder', key_dims=4),
        decoder=dict(type='GPTDecoder', d_model=16, num_heads=2,
                     num_layers=1, ffn_dims=32),
        tokenizer=tokenizer, max_len=12))
    assert model.encoder.in_channels == 10  # the tiny DenseNet's channels
    assert model.encoder.word_embed.num_embeddings == len(tokenizer)
    assert model.encoder.pad_id == tokenizer.pad_id
    assert model.decoder.in_channels == 10
    with pytest.raises(ValueError, match='vocab_size=3'):
        MODELS.build(dict(
            type='ReportGenerator', backbone=dict(type='DenseNet', arch=dict(
                growth_rate=4, depths=[1, 1], init_channels=8)),
            encoder=dict(type='RetrievalEncoder', vocab_size=3),
            decoder=dict(type='GPTDecoder', d_model=16, num_heads=2,
                         num_layers=1, ffn_dims=32),
            tokenizer=tokenizer))
