# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.models.tokenizers import ReportTokenizer, VocabularyMismatchError
from rrgkit.models.utils import DecodingConfigError
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

REPORTS = [
    'The heart is normal. No effusion.',
    'A nodule in the right lung. No effusion.',
    'The heart is normal. A nodule in the left lung.',
]
TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))


def _tokenizer():
    return ReportTokenizer(language='en').build_vocab(REPORTS)


def _model(**kwargs):
    cfg = dict(
        type='ReportGenerator',
        backbone=TINY_DENSENET,
        decoder=dict(type='LSTMDecoder', embed_dims=16, hidden_dims=24),
        tokenizer=_tokenizer(),
        max_len=20)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _batch(n=3, views=None):
    shape = (3, 32, 32) if views is None else (views, 3, 32, 32)
    inputs = [torch.randint(0, 255, shape, dtype=torch.uint8)
              for _ in range(n)]
    samples = [ReportDataSample().set_gt_report(REPORTS[i % 3])
               for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def test_components_are_wired_from_the_tokenizer():
    model = _model()
    tok = model.tokenizer
    assert model.decoder.vocab_size == len(tok)
    assert model.decoder.word_embed.padding_idx == tok.pad_id
    assert model.loss_module.ignore_index == tok.pad_id
    # in_channels came from a dry run of the tiny DenseNet.
    assert model.decoder.image_embed[0].in_features == 10


def test_loss_is_finite_and_near_log_vocab_at_init():
    torch.manual_seed(0)
    model = _model()
    data = model.data_preprocessor(_batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_report'}
    loss = losses['loss_report'].item()
    assert abs(loss - torch.log(torch.tensor(len(model.tokenizer)))) < 1.0
    losses['loss_report'].backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('beam_size', [1, 3])
def test_predict_sets_reports_and_normalised_references(beam_size):
    model = _model(beam_size=beam_size).eval()
    data = model.data_preprocessor(_batch(2))
    out = model(**data, mode='predict')
    assert len(out) == 2
    for sample, ref in zip(out, REPORTS):
        assert isinstance(sample.pred_report, str)
        assert sample.gt_reports == [model.tokenizer.detokenize_reference(ref)]


def test_overfits_two_reports():
    torch.manual_seed(0)
    model = _model()
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = _batch(2)
    data['inputs'][1] = 255 - data['inputs'][0]  # distinct images
    for _ in range(60):
        batch = model.data_preprocessor(data, training=True)
        loss = model(**batch, mode='loss')['loss_report']
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    out = model(**model.data_preprocessor(data), mode='predict')
    assert [s.pred_report for s in out] == [s.gt_reports[0] for s in out]


def test_multi_view_inputs():
    model = _model().eval()
    data = model.data_preprocessor(_batch(2, views=2))
    assert data['inputs'].shape == (2, 2, 3, 32, 32)
    assert len(model(**data, mode='predict')) == 2


def test_vocabulary_is_in_the_state_dict_and_checked():
    model = _model()
    state = model.state_dict()
    assert state['vocab._extra_state']['tokens'] == model.tokenizer.vocab
    other = ReportTokenizer(language='en').build_vocab(REPORTS + ['new words'])
    state['vocab._extra_state'] = other.state_dict()
    with pytest.raises(VocabularyMismatchError):
        model.load_state_dict(state, strict=False)


def test_decoder_vocab_size_conflict_is_clear():
    with pytest.raises(ValueError, match='vocab_size'):
        _model(decoder=dict(type='LSTMDecoder', vocab_size=3))


def _generated(model, n=3):
    data = model.data_preprocessor(_batch(n))
    with torch.no_grad():
        visual, _ = model.eval().extract_feat(data['inputs'])
        return model.generate(visual)


def _seeded_model(**kwargs):
    torch.manual_seed(0)
    return _model(**kwargs)


def test_decode_cfg_sets_the_decoding():
    beam = _generated(_seeded_model(beam_size=3))
    model = _seeded_model(decode_cfg=dict(beam_size=3))
    assert model.beam_size == 3 and torch.equal(_generated(model), beam)
    # The untrained model repeats itself; no_repeat_ngram_size=1 forbids
    # any token twice (the <eos> padding aside).
    eos = model.tokenizer.eos_id

    def words(row):
        return row[:row.index(eos)] if eos in row else row

    plain = [words(r) for r in _generated(_seeded_model()).tolist()]
    assert any(len(set(r)) < len(r) for r in plain)
    blocked = _generated(_seeded_model(decode_cfg=dict(
        no_repeat_ngram_size=1)))
    for row in blocked.tolist():
        assert len(set(words(row))) == len(words(row))
    # min_length: at least 19 tokens (max_len 20 = <bos> + 19) before <eos>.
    longest = _generated(_seeded_model(decode_cfg=dict(min_length=19)))
    assert longest.shape[1] == 19 and not (longest == eos).any()


def test_seeded_sampling_reproduces_in_a_new_model():
    cfg = dict(decode_cfg=dict(do_sample=True, seed=3, temperature=2.0))
    first = _generated(_seeded_model(**cfg))
    again = _seeded_model(**cfg)
    assert torch.equal(_generated(again), first)
    # The generator is kept: the next batch continues its stream.
    assert not torch.equal(_generated(again), first)
    assert not torch.equal(first, _generated(_seeded_model()))


def test_unknown_decode_option_is_a_clear_error():
    with pytest.raises(DecodingConfigError,
                       match=r"model\.decode_cfg\.beams \(did you mean "
                       r"'beam_size'\?\)"):
        _model(decode_cfg=dict(beams=3))
