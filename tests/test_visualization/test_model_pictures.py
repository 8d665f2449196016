# Copyright (c) rrgkit contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample
from rrgkit.visualization import (display_images, draw_heatmap,
                                  draw_tag_graph, model_pictures,
                                  word_attention)

REPORTS = ['the heart is normal .', 'a nodule in the right lung .',
           'no effusion .']
TINY = dict(type='DenseNet',
            arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))
TAGS = ['nodule', 'effusion', 'opacity']


def _tokenizer(texts=REPORTS):
    return ReportTokenizer(language='en').build_vocab(texts)


def _build(**cfg):
    torch.manual_seed(0)
    cfg.setdefault('type', 'ReportGenerator')
    cfg.setdefault('backbone', TINY)
    cfg.setdefault('tokenizer', _tokenizer())
    cfg.setdefault('max_len', 10)
    return MODELS.build(cfg)


def _asgk():
    return _build(
        region_proposer=dict(type='CAMThresholdProposer', region_backbone=TINY,
                             num_tags=3, crop_size=32),
        encoder=dict(type='TagGraphEncoder', num_tags=3, d_model=16,
                     num_heads=2),
        decoder=dict(type='GPTDecoder', d_model=16, num_heads=2,
                     num_layers=1, ffn_dims=32, max_len=30))


def _sat(decoder='AttentionLSTMDecoder', **kwargs):
    model = _build(decoder=dict(type=decoder, embed_dims=8, hidden_dims=8,
                                **kwargs))
    tok = model.tokenizer
    with torch.no_grad():  # only words, never <eos>: max_len - 1 = 9 words
        for token in (tok.eos_id, tok.pad_id, tok.bos_id):
            model.decoder.classifier.bias[token] = -1e4
    return model


def _batch(model, n=2):
    gen = torch.Generator().manual_seed(0)
    raw = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8,
                         generator=gen) for _ in range(n)]
    samples = []
    for i in range(n):
        sample = ReportDataSample()
        sample.set_metainfo(dict(img_path=f'/data/ct {i}.png'))
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=raw, data_samples=samples))
    return raw, data['inputs'], data['data_samples']


def _png_size(path):
    with Image.open(path) as img:
        img.load()
        assert img.format == 'PNG' and img.mode == 'RGB'
        return img.size


def _names(paths):
    return [[osp.basename(p) for p in image] for image in paths]


def test_display_images_undo_the_normalisation():
    model = _sat(attn_dims=8)
    raw, inputs, _ = _batch(model)
    shown = display_images(inputs, model.data_preprocessor)
    assert shown.shape == (2, 32, 32, 3) and shown.dtype == np.uint8
    expected = torch.stack(raw).permute(0, 2, 3, 1).numpy().astype(int)
    assert np.abs(shown.astype(int) - expected).max() <= 1
    # Multi-view studies show the first view; one channel becomes gray.
    views = torch.stack([torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)], 1)
    gray = display_images(views * 255.0)
    assert gray.shape == (2, 4, 4, 3) and gray.max() == 0


def test_asgk_like_model_gets_heatmap_and_tag_graph(tmp_path):
    model = _asgk().train()
    _, inputs, samples = _batch(model)
    paths = model_pictures(model, inputs, samples, tmp_path, tag_names=TAGS)
    assert _names(paths) == [['ct_0_heatmap.png', 'ct_0_tag_graph.png'],
                             ['ct_1_heatmap.png', 'ct_1_tag_graph.png']]
    assert model.training  # the mode is restored
    assert _png_size(paths[0][0]) == (32, 32)  # the input's size
    assert _png_size(paths[1][1]) == (600, 600)
    # The heat-map picture is the CAM heat map and crop box of the model.
    model.eval()
    with torch.no_grad():
        visual, _ = model.extract_feat(inputs)
    expected = draw_heatmap(display_images(inputs, model.data_preprocessor)[1],
                            visual.extras['heatmap'][1],
                            visual.extras['region_boxes'][1])
    assert (np.asarray(Image.open(paths[1][0])) == expected).all()
    # The graph is TagGraphEncoder's: node values and attention edges.
    graph = draw_tag_graph(visual.extras['tag_probs'][1],
                           visual.extras['graph_attention'][1], TAGS,
                           out=tmp_path / 'expected.png')
    assert set(graph.nodes) == {
        t for t, p in zip(TAGS, visual.extras['tag_probs'][1]) if p > 0.5}
    assert (np.asarray(Image.open(paths[1][1])) == np.asarray(
        Image.open(tmp_path / 'expected.png'))).all()
    with pytest.raises(ValueError, match='tag names'):
        model_pictures(model, inputs, samples, tmp_path, tag_names=TAGS[:2])


def test_sat_word_attention_matches_greedy_decoding(tmp_path):
    model = _sat(attn_dims=8).eval()
    _, inputs, samples = _batch(model)
    with torch.no_grad():
        visual, _ = model.extract_feat(inputs)
        rows = word_attention(model, visual)
        # Decode by hand and keep the attention of every step.
        state = model.decoder.init_state(visual)
        tokens = torch.full((2, ), model.tokenizer.bos_id)
        steps = []
        for _ in range(model.max_len - 1):
            log_probs, state = model.decoder.step(tokens, state)
            tokens = log_probs.argmax(-1)
            steps.append((tokens, state['alpha']))
    texts = model.tokenizer.batch_decode(model.generate(visual))
    for i, (words, alphas, betas) in enumerate(rows):
        assert len(words) == 9 and ' '.join(words) == texts[i]
        assert betas is None
        assert alphas.shape == (len(words), 16)  # 4x4 positions
        for t in range(len(words)):
            assert model.tokenizer.vocab[steps[t][0][i]] == words[t]
            assert torch.allclose(alphas[t], steps[t][1][i], atol=1e-6)
    paths = model_pictures(model, inputs, samples, tmp_path,
                           image_names=['a', 'b'], max_words=4)
    assert _names(paths) == [['a_attention.png'], ['b_attention.png']]
    # The input and 4 of the 9 words in one row of 200 px panels.
    assert _png_size(paths[0][0]) == _png_size(paths[1][0]) == (1000, 200)


def test_adaptive_attention_reports_the_sentinel(tmp_path):
    model = _sat('AdaptiveAttentionDecoder').eval()
    _, inputs, samples = _batch(model)
    with torch.no_grad():
        visual, _ = model.extract_feat(inputs)
    words, alphas, betas = word_attention(model, visual)[0]
    assert len(words) == 9
    assert alphas.shape == (len(words), 16) and betas.shape == (len(words), )
    # Spatial weights and sentinel weight share one softmax.
    assert torch.allclose(alphas.sum(-1) + betas, torch.ones(len(words)),
                          atol=1e-5)
    paths = model_pictures(model, inputs, samples, tmp_path)
    assert _names(paths) == [['ct_0_attention.png'], ['ct_1_attention.png']]


def test_mdnet_gets_class_map_and_one_attention_picture_per_task(tmp_path):
    texts = REPORTS + ['normal study .']
    model = _build(
        type='TaskDuplicatedGenerator', description_names=['heart', 'lungs'],
        region_proposer=dict(type='AASProposer', num_classes=2),
        decoder=dict(type='AttentionLSTMDecoder', embed_dims=8,
                     hidden_dims=8, attention='aas', num_positions=16),
        tokenizer=_tokenizer(texts))
    _, inputs, samples = _batch(model, n=1)
    paths = model_pictures(model, inputs, samples, tmp_path)
    assert _names(paths) == [[
        'ct_0_class_map.png', 'ct_0_attention_heart.png',
        'ct_0_attention_lungs.png', 'ct_0_attention_conclusion.png'
    ]]
    assert _png_size(paths[0][0]) == (32, 32)


def test_a_model_with_nothing_to_show_writes_nothing(tmp_path):
    model = _build(decoder=dict(type='LSTMDecoder', embed_dims=8,
                                hidden_dims=8))
    _, inputs, _ = _batch(model)
    assert model_pictures(model, inputs, None, tmp_path / 'none') == [[], []]
    assert not (tmp_path / 'none').exists()
