# Copyright (c) rrgkit contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from rrgkit.models.generators.hierarchical_generator import (
    split_sentences, tag_distribution_loss)
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

REPORTS = ['The heart is normal. No nodule.',
           'The heart is enlarged. A nodule in the right lung.']
TAGS = [[1, 0, 0, 1], [0, 1, 1, 0]]
TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))


def _model(reports=REPORTS, **kwargs):
    cfg = dict(
        type='HierarchicalReportGenerator',
        backbone=TINY_DENSENET,
        decoder=dict(type='HierarchicalLSTMDecoder', num_tags=4, top_k=2,
                     embed_dims=16, sentence_hidden_dims=16,
                     word_hidden_dims=24, attn_dims=8, context_dims=16,
                     dropout=0.0),
        tokenizer=ReportTokenizer(language='en').build_vocab(reports),
        max_sentences=4,
        max_sentence_len=10)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _batch(reports=REPORTS, tags=TAGS):
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8,
                            generator=g) for _ in reports]
    samples = []
    for report, tag in zip(reports, tags):
        sample = ReportDataSample().set_gt_report(report)
        if tag is not None:
            sample.set_gt_tags(tag)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


# ---------------------------------------------------------------- splitting
@pytest.mark.parametrize('tokens, kwargs, expected', [
    ('the heart . no nodule .', {}, [['the', 'heart', '.'],
                                     ['no', 'nodule', '.']]),
    ('a . b c', {}, [['a', '.'], ['b', 'c']]),  # no final period
    ('a . b . c .', dict(max_sentences=2), [['a', '.'], ['b', '.']]),
    ('a b c . d .', dict(max_sentence_len=2), [['a', 'b'], ['d', '.']]),
    ('', {}, []),  # empty report
    ('. a . .', {}, [['a', '.']]),  # lone end marks are not sentences
])
def test_split_sentences_hand_cases(tokens, kwargs, expected):
    assert split_sentences(tokens.split(), **kwargs) == expected


def test_split_sentences_chinese_and_ids():
    assert split_sentences(list('胸廓对称。肺清')) == [list('胸廓对称。'),
                                                 list('肺清')]
    assert split_sentences([5, 6, 9, 7, 9], end_tokens=[9]) == [[5, 6, 9],
                                                                 [7, 9]]


def test_encode_sentences_pads_sentences_and_words():
    model = _model(max_sentences=2, max_sentence_len=3)
    tok = model.tokenizer
    ids, counts = model.encode_sentences(
        ['The heart is normal. No nodule.', '', 'A nodule. No. Heart.'])
    v = tok.token_to_id
    bos, eos, pad = tok.bos_id, tok.eos_id, tok.pad_id
    assert counts.tolist() == [2, 1, 2]
    assert ids.shape == (3, 2, 5)
    assert ids[0].tolist() == [
        [bos, v['the'], v['heart'], v['is'], eos],  # truncated to 3 words
        [bos, v['no'], v['nodule'], v['.'], eos]]
    assert ids[1].tolist() == [[bos, eos, pad, pad, pad], [pad] * 5]
    assert ids[2].tolist() == [[bos, v['a'], v['nodule'], v['.'], eos],
                               [bos, v['no'], v['.'], eos, pad]]


def test_encode_sentences_in_chinese():
    reports = ['胸廓对称。肺纹理清晰。']
    model = _model(reports, tokenizer=ReportTokenizer(
        language='zh').build_vocab(reports))
    ids, counts = model.encode_sentences(reports)
    tok = model.tokenizer
    assert counts.tolist() == [2]
    assert [tok.decode(row) for row in ids[0]] == ['胸廓对称。', '肺纹理清晰。']


# ------------------------------------------------------------------- losses
def test_tag_distribution_loss_by_hand():
    logits = torch.tensor([[2., 0., 0., 0.], [1., 2., 3., 4.]])
    targets = torch.tensor([[1., 0., 0., 1.], [0., 0., 0., 0.]])
    # Row 0: -(0.5 * (2 - lse) + 0.5 * (0 - lse)) = lse - 1; row 1 has no
    # tag and is left out.
    expected = math.log(math.exp(2) + 3) - 1
    assert tag_distribution_loss(logits, targets).item() == pytest.approx(
        expected, abs=1e-6)
    empty = tag_distribution_loss(logits.requires_grad_(), targets * 0)
    assert empty.item() == 0.0 and empty.requires_grad


def test_stop_word_and_tag_losses_on_a_hand_checkable_case():
    reports = ['a b. c.', 'd.']
    model = _model(reports, lambda_tag=2.0, lambda_stop=0.5,
                   lambda_word=3.0)
    vocab = len(model.tokenizer)
    data = model.data_preprocessor(
        _batch(reports, [[1, 0, 0, 1], [0, 0, 0, 0]]), training=True)
    seen = {}

    def fake_decoder(visual, sentence_ids):
        seen['ids'] = sentence_ids
        B, S, L = sentence_ids.shape
        targets = sentence_ids[..., 1:]
        # Garbage everywhere, logit 1 on every real target, 0 elsewhere.
        words = torch.randn(B, S, L - 1, vocab) * 10
        real = targets != 0
        words[real] = 0.0
        words[real] = words[real].scatter(-1, targets[real][:, None], 1.0)
        return dict(tag_logits=torch.tensor([[2., 0., 0., 0.],
                                             [5., 1., 0., 0.]]),
                    stop_logits=torch.tensor([[2., -1.], [0.5, 3.]]),
                    word_logits=words)

    model.decoder.forward = fake_decoder
    losses = model(**data, mode='loss')
    assert seen['ids'].shape == (2, 2, 5)  # <bos> a b . <eos>
    assert set(losses) == {'loss_tag', 'loss_stop', 'loss_word'}
    # Study 0 continues after sentence 0 and stops after sentence 1; study
    # 1 stops after its only sentence; its second logit is ignored.
    stop = (math.log1p(math.exp(2)) + math.log1p(math.exp(1)) +
            math.log1p(math.exp(-0.5))) / 3
    assert losses['loss_stop'].item() == pytest.approx(0.5 * stop, abs=1e-6)
    word = math.log(math.e + vocab - 1) - 1
    assert losses['loss_word'].item() == pytest.approx(3 * word, abs=1e-5)
    tag = math.log(math.exp(2) + 3) - 1  # study 1 has no tag
    assert losses['loss_tag'].item() == pytest.approx(2 * tag, abs=1e-6)


def test_bce_tag_loss_and_sigmoid_tag_probabilities():
    model = _model(tag_loss=dict(type='TagBCELoss'))
    data = model.data_preprocessor(_batch(), training=True)
    visual, _ = model.extract_feat(data['inputs'])
    logits = model.decoder.tag_logits(visual)
    losses = model(**data, mode='loss')
    expected = F.binary_cross_entropy_with_logits(
        logits, torch.tensor(TAGS, dtype=torch.float))
    assert losses['loss_tag'].item() == pytest.approx(expected.item(),
                                                      abs=1e-6)
    assert torch.allclose(model.tag_probs(logits), logits.sigmoid())
    assert torch.allclose(_model().tag_probs(logits), logits.softmax(-1))


def test_tags_are_required_unless_lambda_tag_is_zero():
    model = _model()
    data = model.data_preprocessor(_batch(tags=[TAGS[0], None]),
                                   training=True)
    with pytest.raises(ValueError, match='no gt_tags.*lambda_tag=0'):
        model(**data, mode='loss')
    losses = _model(lambda_tag=0.0)(**data, mode='loss')
    assert set(losses) == {'loss_stop', 'loss_word'}
    data = model.data_preprocessor(_batch(tags=[[1, 0], [0, 1]]),
                                   training=True)
    with pytest.raises(ValueError, match='2 entries but model.decoder.'
                       'num_tags=4'):
        model(**data, mode='loss')


def test_sequence_log_likelihood_matches_the_losses():
    model = _model(lambda_tag=0.0).eval()
    data = model.data_preprocessor(_batch())
    report = REPORTS[1]
    with torch.no_grad():
        visual, _ = model.extract_feat(data['inputs'][1:])
        ll = model.sequence_log_likelihood(visual, [report])
        sample = ReportDataSample().set_gt_report(report)
        losses = model.loss(data['inputs'][1:], [sample])
    ids, counts = model.encode_sentences([report])
    num_words = int((ids[..., 1:] != 0).sum())  # words + one <eos> each
    expected = -(losses['loss_word'] * num_words +
                 losses['loss_stop'] * int(counts[0]))
    assert ll.item() == pytest.approx(expected.item(), abs=1e-4)


# --------------------------------------------------------------- generation
@pytest.mark.parametrize('beam_size', [1, 2])
def test_predict_output_fields(beam_size):
    model = _model(beam_size=beam_size).eval()
    data = model.data_preprocessor(_batch())
    out = model(**data, mode='predict')
    tok = model.tokenizer
    for sample, report in zip(out, REPORTS):
        assert 1 <= len(sample.pred_sentences) <= 4
        assert sample.pred_report == tok.join_texts(
            s for s in sample.pred_sentences if s.strip())
        assert sample.pred_tags.shape == (4, )
        assert sample.pred_tags.sum().item() == pytest.approx(1.0, abs=1e-5)
        assert sample.gt_reports == [tok.detokenize_reference(report)]
    with torch.no_grad():
        visual, _ = model.extract_feat(data['inputs'])
        ids = model.generate(visual)
    assert tok.batch_decode(ids) == [s.pred_report for s in out]
    bare = model.predict(data['inputs'])
    assert [s.pred_report for s in bare] == [s.pred_report for s in out]
    assert 'gt_reports' not in bare[0]


def test_generation_stops_after_the_first_likely_stop():
    model = _model(max_sentences=4).eval()
    original = model.decoder.sentence_step
    # Study 0 stops after sentence 1, study 1 after sentence 3.
    stops = iter([[3., -3.], [-3., -3.], [-3., 3.], [3., 3.]])

    def step(state):
        topic, _, state = original(state)
        return topic, torch.tensor(next(stops)), state

    model.decoder.sentence_step = step
    out = model(**model.data_preprocessor(_batch()), mode='predict')
    assert [len(s.pred_sentences) for s in out] == [1, 3]

    def never_stop(state):
        topic, _, state = original(state)
        return topic, torch.full((2, ), -3.), state

    model.decoder.sentence_step = never_stop
    out = model(**model.data_preprocessor(_batch()), mode='predict')
    assert [len(s.pred_sentences) for s in out] == [4, 4]  # max_sentences


def test_overfits_two_images_to_their_two_sentence_reports():
    model = _model()
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = model.data_preprocessor(_batch(), training=True)
    for _ in range(100):
        losses = model(**data, mode='loss')
        optim.zero_grad()
        sum(losses.values()).backward()
        optim.step()
    assert losses['loss_stop'].item() < 0.05
    assert losses['loss_word'].item() < 0.2
    # The tag loss tends to the entropy of the tag distributions (log 2).
    assert losses['loss_tag'].item() == pytest.approx(math.log(2), abs=0.02)
    model.eval()
    out = model(**model.data_preprocessor(_batch()), mode='predict')
    tok = model.tokenizer
    for sample, report, tags in zip(out, REPORTS, TAGS):
        assert sample.pred_report == tok.detokenize_reference(report)
        assert len(sample.pred_sentences) == 2
        assert sample.pred_tags.topk(2).indices.sort().values.tolist() == [
            i for i, t in enumerate(tags) if t]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='no max_len.*max_sentence_len'):
        _model(max_len=20)
    with pytest.raises(ValueError, match='max_sentences must be an int'):
        _model(max_sentences=0)
    with pytest.raises(ValueError, match='stop_threshold'):
        _model(stop_threshold=1.0)
    with pytest.raises(TypeError, match='HierarchicalLSTMDecoder'):
        _model(decoder=dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8))


def test_decode_cfg_acts_on_every_sentence():
    data = _model().data_preprocessor(_batch())

    def sentences(**kwargs):
        model = _model(**kwargs).eval()
        with torch.no_grad():
            visual, _ = model.extract_feat(data['inputs'])
            return [s for study in model.generate_sentences(visual)[0]
                    for s in study]

    # The untrained word LSTM repeats tokens; with no_repeat_ngram_size=1
    # no sentence has a token twice.
    assert any(len(set(s)) < len(s) for s in sentences())
    for sentence in sentences(decode_cfg=dict(no_repeat_ngram_size=1)):
        assert sentence and len(set(sentence)) == len(sentence)


def test_loss_on_cached_features_equals_loss_on_the_images():
    """The device comes from the features, so cached maps work (CoAtt)."""
    live = _model()
    live.eval()
    batch = live.data_preprocessor(_batch(), False)
    with torch.no_grad():
        maps = live.backbone(batch['inputs'])[-1]
        expected = live.loss(**batch)
    cached = _model(backbone=dict(type='CachedFeatures',
                                  out_channels=maps.shape[1]))
    cached.load_state_dict(live.state_dict(), strict=False)
    cached.eval()
    with torch.no_grad():
        got = cached.loss({'feat_map': maps}, batch['data_samples'])
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key].item() == pytest.approx(value.item(), rel=1e-5)
