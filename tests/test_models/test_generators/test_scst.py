# Copyright (c) rrgkit contributors. All rights reserved.
"""SCSTGenerator: the loss, its baselines, rewards and checkpoints."""
import pytest
import torch
import torch.nn as nn
from mmengine.runner.checkpoint import get_state_dict, load_state_dict

from rrgkit.evaluation.rewards import RewardConfigError
from rrgkit.models import ReportGenerator, SCSTGenerator
from rrgkit.models.generators.scst import SCSTConfigError
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

REPORTS = ['the heart is normal .', 'a nodule in the right lung .',
           'both lungs are clear .']
TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))


class _Flat(nn.Module):
    """Backbone: one 1x1 feature map per image."""

    def forward(self, x):
        return (x.mean((2, 3), keepdim=True), )


class _Markov(nn.Module):
    """Decoder: next-word logits depend on the previous word only."""

    def __init__(self, vocab_size):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(vocab_size, vocab_size))

    def init_state(self, visual):
        return dict(row=visual.global_feat[:, :1])

    def step(self, tokens, state):
        return self.table[tokens].log_softmax(-1), state

    def sequence_log_prob(self, ids, bos_id, eos_id):
        """``(sum log p, length)`` of sampled ids up to the first ``eos``."""
        log_probs = self.table.log_softmax(-1)
        total, prev, length = 0.0, bos_id, 0
        for token in ids.tolist():
            total = total + log_probs[prev, token]
            prev, length = token, length + 1
            if token == eos_id:
                break
        return total, length


class _Spy:
    """A reward that records what it scored; ``score(text) -> float``."""

    def __init__(self, score):
        self.score, self.calls = score, []

    def __call__(self, predictions, references):
        self.calls.append(list(predictions))
        return [self.score(p) for p in predictions]


def _toy(reward, num_samples=1, baseline='greedy'):
    tokenizer = ReportTokenizer().build_vocab(['a b c'])
    generator = ReportGenerator(backbone=_Flat(),
                                decoder=_Markov(len(tokenizer)),
                                tokenizer=tokenizer, max_len=12)
    with torch.no_grad():  # words likely, then <eos> likely; no specials
        table = generator.decoder.table
        table[tokenizer.bos_id, 4:] = 2.0
        table[4:, tokenizer.eos_id] = 1.0
        table[:, [tokenizer.pad_id, tokenizer.bos_id, tokenizer.unk_id]] = -30
    return SCSTGenerator(generator, reward_cfg=dict(toy=reward),
                         num_samples=num_samples, baseline=baseline)


def _inputs(n):
    x = torch.zeros(n, 3, 4, 4)
    return x, [ReportDataSample().set_gt_report('a b') for _ in range(n)]


@pytest.fixture
def sampled(monkeypatch):
    """The ids that SCST samples, recorded on each call."""
    from rrgkit.models.generators import scst
    calls = []

    def record(*args, **kwargs):
        calls.append(scst_sample(*args, **kwargs))
        return calls[-1]

    scst_sample = scst.sample_decode
    monkeypatch.setattr(scst, 'sample_decode', record)
    return calls


def _normalised_log_prob(model, ids):
    """``sum log p(words, <eos>) / length`` of one sampled row."""
    tokenizer = model.tokenizer
    total, length = model.generator.decoder.sequence_log_prob(
        ids, tokenizer.bos_id, tokenizer.eos_id)
    return total / length


def test_greedy_baseline_loss_is_the_hand_computed_value(sampled):
    spy = _Spy(lambda text: float(len(text.split())))
    model = _toy(spy, num_samples=1)
    torch.manual_seed(0)
    losses = model.loss(*_inputs(2))
    samples, greedy = spy.calls  # rewards of the samples, then the greedy
    ids = sampled[0].ids
    expected = -sum((len(s.split()) - len(g.split())) *
                    _normalised_log_prob(model, row)
                    for s, g, row in zip(samples, greedy, ids)) / 2
    assert losses['loss_scst'].item() == pytest.approx(expected.item(),
                                                       abs=1e-5)
    assert losses['reward'].item() == pytest.approx(
        sum(len(s.split()) for s in samples) / 2)
    assert losses['reward_baseline'].item() == pytest.approx(
        sum(len(g.split()) for g in greedy) / 2)


def test_mean_of_samples_baseline_loss_is_the_hand_computed_value(sampled):
    spy = _Spy(lambda text: float(len(text.split())))
    model = _toy(spy, num_samples=3, baseline='mean')
    torch.manual_seed(1)
    losses = model.loss(*_inputs(2))
    assert len(spy.calls) == 1  # no greedy decoding for this baseline
    samples = spy.calls[0]
    rewards = [float(len(s.split())) for s in samples]
    assert len(set(rewards)) > 1  # the samples differ
    total = 0.0
    for i in range(len(samples)):
        image = i // 3
        others = [rewards[j] for j in range(3 * image, 3 * image + 3)
                  if j != i]
        advantage = rewards[i] - sum(others) / 2
        total += advantage * _normalised_log_prob(model, sampled[0].ids[i])
    assert losses['loss_scst'].item() == pytest.approx(-total.item() / 6,
                                                       abs=1e-5)
    # Centred per image: the baseline's mean is the samples' mean.
    assert losses['reward_baseline'].item() == pytest.approx(
        losses['reward'].item())


@pytest.mark.parametrize('better', [True, False])
def test_one_step_moves_the_samples_log_prob_with_the_advantage(
        better, sampled):
    greedy_text = []

    def score(text):
        # The greedy report is decoded after the sample: reward the sample
        # above (or below) whatever the greedy report is.
        return 0.0 if text in greedy_text else (1.0 if better else -1.0)

    spy = _Spy(score)
    model = _toy(spy, num_samples=1)
    with torch.no_grad():
        greedy_text.append(model.tokenizer.decode(
            model.generator.generate(
                model.generator.extract_feat(_inputs(1)[0])[0])[0]))
    torch.manual_seed(3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = model.loss(*_inputs(1))
    assert spy.calls[0][0] != greedy_text[0]
    row = sampled[0].ids[0]
    before = _normalised_log_prob(model, row).item()
    optimizer.zero_grad()
    losses['loss_scst'].backward()
    optimizer.step()
    after = _normalised_log_prob(model, row).item()
    assert (after > before) if better else (after < before)


def test_a_sample_equal_to_the_baseline_gets_no_gradient():
    model = _toy(_Spy(lambda text: 1.0), num_samples=2)
    losses = model.loss(*_inputs(1))
    losses['loss_scst'].backward()
    assert losses['loss_scst'].item() == 0.0
    assert model.generator.decoder.table.grad.abs().max() == 0.0


class _WordCount:

    def __call__(self, predictions, references):
        return [float(len(p.split())) for p in predictions]


def _tiny(decoder, encoder=None, **scst):
    torch.manual_seed(0)
    generator = dict(type='ReportGenerator', backbone=TINY_DENSENET,
                     decoder=decoder, encoder=encoder,
                     tokenizer=ReportTokenizer().build_vocab(REPORTS),
                     max_len=10)
    scst.setdefault('corpus', REPORTS)
    return MODELS.build(dict(type='SCSTGenerator', generator=generator,
                             **scst))


def _images(n=3):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, 32, 32, generator=g)
    return x, [ReportDataSample().set_gt_report(REPORTS[i % 3])
               for i in range(n)]


def test_reward_mix_sums_weighted_terms_and_logs_each():
    model = _tiny(dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8),
                  reward_cfg=dict(cider=dict(type='CIDErDReward'),
                                  words=dict(type=_WordCount, weight=0.5)),
                  num_samples=2, baseline='mean')
    losses = model.loss(*_images())
    assert losses['reward'].item() == pytest.approx(
        losses['reward_cider'].item() + 0.5 * losses['reward_words'].item(),
        abs=1e-5)
    assert losses['reward_words'].item() > 0


DECODERS = {
    'lstm': (dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8), None),
    'sat': (dict(type='AttentionLSTMDecoder', attention='soft', embed_dims=8,
                 hidden_dims=8, attn_dims=8), None),
    'adaatt': (dict(type='AdaptiveAttentionDecoder', embed_dims=8,
                    hidden_dims=8, attn_dims=8), None),
    'r2gen': (dict(type='R2GenDecoder', d_model=16, num_heads=2,
                   num_layers=1, ffn_dims=32, num_slots=2, rm_num_heads=2),
              dict(type='TransformerVisualEncoder', d_model=16, num_heads=2,
                   num_layers=1, ffn_dims=32)),
    'gpt': (dict(type='GPTDecoder', num_layers=1, d_model=16, num_heads=2,
                 ffn_dims=32), None),
}


@pytest.mark.parametrize('name', list(DECODERS))
@pytest.mark.parametrize('baseline', ['greedy', 'mean'])
def test_every_step_decoder_trains_with_scst(name, baseline):
    decoder, encoder = DECODERS[name]
    model = _tiny(decoder, encoder, num_samples=2, baseline=baseline)
    losses = model.loss(*_images())
    assert torch.isfinite(losses['loss_scst'])
    assert 0.0 <= losses['reward'].item() <= 10.0
    losses['loss_scst'].backward()
    grads = [p.grad for p in model.generator.decoder.parameters()
             if p.grad is not None]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0


def test_checkpoints_have_the_plain_generators_keys():
    model = _tiny(dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8))
    plain = _tiny(dict(type='LSTMDecoder', embed_dims=8,
                       hidden_dims=8)).generator
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    state = model.state_dict()
    assert list(state) == list(plain.state_dict())
    assert sorted(get_state_dict(model)) == sorted(state)
    assert 'vocab._extra_state' in state and not any(
        k.startswith(('generator.', 'data_preprocessor.')) for k in state)
    # SCST checkpoint -> plain generator, and a generator's back in.
    plain.load_state_dict(state, strict=True)
    for key, value in plain.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, state[key]), key
    fresh = _tiny(dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8))
    load_state_dict(fresh, get_state_dict(plain), strict=True)  # mmengine
    for key, value in fresh.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, state[key]), key


def test_validation_is_the_generators_own_prediction():
    model = _tiny(dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8))
    model.eval()
    x, samples = _images()
    ours = [s.pred_report for s in model(x, samples, mode='predict')]
    theirs = [s.pred_report for s in model.generator.predict(x, _images()[1])]
    assert ours == theirs
    assert model.tokenizer is model.generator.tokenizer


def test_config_errors_name_the_key():
    lstm = dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8)
    with pytest.raises(SCSTConfigError, match=r"model.baseline='best'"):
        _tiny(lstm, baseline='best')
    with pytest.raises(SCSTConfigError, match='num_samples=1 is too small'):
        _tiny(lstm, baseline='mean', num_samples=1)
    with pytest.raises(RewardConfigError, match=r'model.corpus is not set'):
        _tiny(lstm, corpus=None)
    with pytest.raises(RewardConfigError,
                       match='reward_cfg.toy is of type str'):
        _tiny(lstm, reward_cfg=dict(toy='cider'))
    no_step = ReportGenerator(
        backbone=_Flat(), decoder=nn.Linear(2, 2),
        tokenizer=ReportTokenizer().build_vocab(REPORTS))
    with pytest.raises(SCSTConfigError, match='init_state/step'):
        SCSTGenerator(no_step, corpus=REPORTS)
    per_task = MODELS.build(dict(
        type='TaskDuplicatedGenerator', description_names=['a', 'b'],
        backbone=TINY_DENSENET,
        decoder=dict(type='AttentionLSTMDecoder', embed_dims=8,
                     hidden_dims=8, attn_dims=8),
        tokenizer=ReportTokenizer().build_vocab(REPORTS)))
    with pytest.raises(SCSTConfigError, match='one description per task'):
        SCSTGenerator(per_task, corpus=REPORTS)


def test_scst_on_cached_features_equals_scst_on_the_images():
    """SCST reads the device from the features, so cached maps work."""
    decoder = dict(type='LSTMDecoder', embed_dims=8, hidden_dims=8)
    live = _tiny(decoder, num_samples=2, baseline='mean')
    images, samples = _images()
    with torch.no_grad():
        maps = live.generator.backbone(images)[-1]
    cached = _tiny(decoder, num_samples=2, baseline='mean')
    cached.generator.backbone = MODELS.build(
        dict(type='CachedFeatures', out_channels=maps.shape[1]))
    cached.load_state_dict(live.state_dict(), strict=False)
    live.eval(), cached.eval()  # same BN statistics and no dropout
    torch.manual_seed(5)  # the same samples drawn
    a = live.loss(images, samples)
    torch.manual_seed(5)
    b = cached.loss({'feat_map': maps}, samples)
    assert torch.isfinite(b['loss_scst'])
    assert b['reward'].item() == pytest.approx(a['reward'].item())
