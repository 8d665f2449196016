# Copyright (c) rrgkit contributors. All rights reserved.
import json

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from rrgkit.datasets.textbook_dataset import TextbookDataset
from rrgkit.models.generators.textbook_pretrainer import (TextbookPretrainer,
                                                          load_decoder_from)
from rrgkit.models.tokenizers import ReportTokenizer, VocabularyMismatchError
from rrgkit.models.utils import VisualFeatures, greedy_decode
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample
from rrgkit.utils.checkpoint import CheckpointError

SENTENCES = [
    'The heart is normal in size.',
    'Ground glass opacity is seen in both lower lungs.',
    'No pleural effusion.',
    'A small nodule in the right upper lobe, 3.5 mm.',
]
MEMORY = 24  # memory_channels: the tag graph's d_model in ASGK
DECODER = dict(type='GPTDecoder', d_model=32, num_heads=2, num_layers=1,
               ffn_dims=64, dropout=0.0, max_len=30)
TINY_DENSENET = dict(type='DenseNet',
                     arch=dict(growth_rate=4, depths=[1, 1], init_channels=8))


def _tokenizer(sentences=SENTENCES):
    return ReportTokenizer(language='en').build_vocab(sentences)


def _model(tokenizer=None, **kwargs):
    cfg = dict(type='TextbookPretrainer', decoder=DECODER,
               tokenizer=tokenizer or _tokenizer(), embed_dims=16,
               gru_hidden=16, memory_channels=MEMORY, max_len=30)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _batch(sentences=SENTENCES):
    samples = []
    for i, s in enumerate(sentences):
        sample = ReportDataSample().set_gt_report(s)
        sample.set_metainfo(dict(img_id=f'tb_{i:06d}'))
        samples.append(sample)
    return dict(inputs=[torch.zeros(1) for _ in sentences],
                data_samples=samples)


def _memory(batch=2, seed=3):
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randn(batch, 1, MEMORY, generator=gen)
    return VisualFeatures(global_feat=tokens.mean(1), tokens=tokens)


@pytest.fixture(scope='module')
def trained():
    """A tiny pretrainer fit to the 4 sentences, and its losses."""
    torch.manual_seed(0)
    model = _model()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-2))
    losses = [
        model.train_step(_batch(), optim)['loss_textbook'].item()
        for _ in range(50)
    ]
    return model.eval(), losses


def test_components_are_wired_from_the_tokenizer(tmp_path):
    path = tmp_path / 'book.json'
    path.write_text(json.dumps([dict(answer=' '.join(SENTENCES))]))
    corpus = dict(type='TextbookDataset', ann_file=str(path), val_ratio=0)
    model = _model(tokenizer=dict(type='ReportTokenizer', corpus=corpus))
    assert isinstance(model, TextbookPretrainer)
    tok = model.tokenizer
    assert tok.vocab == _tokenizer().vocab
    assert model.decoder.vocab_size == len(tok)
    assert model.decoder.pad_id == tok.pad_id
    assert model.decoder.in_channels == MEMORY
    assert model.loss_module.ignore_index == tok.pad_id
    assert model.text_gru.hidden_size == 16 and model.text_gru.num_layers == 1
    assert 'vocab._extra_state' in model.state_dict()
    signal = model(**model.data_preprocessor(_batch()), mode='tensor')
    assert signal.shape == (4, 1, MEMORY)
    two = _model(num_memory_tokens=2)
    assert two(**_batch(), mode='tensor').shape == (4, 2, MEMORY)


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match='in_channels=10 but memory_channels'):
        _model(decoder=dict(DECODER, in_channels=10))
    with pytest.raises(ValueError, match='decoder.max_len=30 .*max_len=50'):
        _model(max_len=50)
    with pytest.raises(ValueError, match='vocab_size=7 but the tokenizer'):
        _model(decoder=dict(DECODER, vocab_size=7))
    with pytest.raises(ValueError, match='needs one.*PackTextInputs'):
        _model()(inputs=[torch.zeros(1)], data_samples=[ReportDataSample()],
                 mode='loss')


def test_variable_lengths_are_packed():
    """A sentence's signal does not depend on the padding around it."""
    model = _model().eval()
    alone = model(**_batch(SENTENCES[2:3]), mode='tensor')
    padded = model(**_batch(SENTENCES), mode='tensor')[2:3]
    torch.testing.assert_close(alone, padded)


def test_loss_decreases_and_predict_reconstructs(trained):
    model, losses = trained
    vocab = torch.log(torch.tensor(float(len(model.tokenizer))))
    assert abs(losses[0] - vocab.item()) < 1.0  # chance level at start
    assert losses[-1] < 0.05 * losses[0]
    out = model(**model.data_preprocessor(_batch()), mode='predict')
    for sample, sentence in zip(out, SENTENCES):
        ref = model.tokenizer.detokenize_reference(sentence)
        assert sample.gt_reports == [ref]
        assert sample.pred_report == ref
        assert sample.img_id.startswith('tb_')


def test_trains_from_a_textbook_dataset(tmp_path):
    path = tmp_path / 'book.json'
    path.write_text(json.dumps([dict(answer=' '.join(SENTENCES))]))
    ds = TextbookDataset(str(path), val_ratio=0,
                         pipeline=[dict(type='PackTextInputs')])
    model = _model()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    data = pseudo_collate([ds[i] for i in range(len(ds))])
    before = model.text_gru.weight_hh_l0.detach().clone()
    loss = model.train_step(data, optim)['loss_textbook']
    assert torch.isfinite(loss)
    assert not torch.equal(model.text_gru.weight_hh_l0, before)
    preds = model.val_step(data)
    assert [p.gt_reports[0] for p in preds] == [
        model.tokenizer.detokenize_reference(s) for s in SENTENCES
    ]


def _save(model, path):
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), path)
    return str(path)


def _generator(tokenizer, **kwargs):
    cfg = dict(type='ReportGenerator', backbone=TINY_DENSENET,
               decoder=dict(DECODER, in_channels=MEMORY),
               tokenizer=tokenizer, max_len=30)
    cfg.update(kwargs)
    return MODELS.build(cfg).eval()


def test_decoder_transfers_into_a_report_generator(trained, tmp_path):
    model, _ = trained
    ckpt = _save(model, tmp_path / 'stage1.pth')
    # Stage 3 builds the vocabulary from the same corpus: an equal copy.
    gen = _generator(_tokenizer())
    visual = _memory()
    ids, _ = model.tokenizer.batch_encode(SENTENCES[:2])
    with torch.no_grad():
        expected = model.decoder(visual, ids)
        assert not torch.allclose(gen.decoder(visual, ids), expected)
        keys = load_decoder_from(ckpt, gen)
        assert 'word_embed.weight' in keys and 'pos_embed.weight' in keys
        torch.testing.assert_close(gen.decoder(visual, ids), expected,
                                   rtol=0, atol=0)

    def decode(dec):
        return greedy_decode(lambda: dec.init_state(visual), dec.step, 2,
                             1, 2, 10, torch.device('cpu'))

    assert torch.equal(decode(gen.decoder), decode(model.decoder))


def test_top_level_pretrained_init_cfg_loads_the_decoder(trained, tmp_path):
    """Config route for stage 3: ReportGenerator(init_cfg=Pretrained)."""
    model, _ = trained
    ckpt = _save(model, tmp_path / 'stage1.pth')
    gen = _generator(_tokenizer(),
                     init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    gen.init_weights()
    for key, value in model.decoder.state_dict().items():
        assert torch.equal(gen.decoder.state_dict()[key], value), key
    other = _generator(_tokenizer(SENTENCES[:2]),
                       init_cfg=dict(type='Pretrained', checkpoint=ckpt))
    with pytest.raises(VocabularyMismatchError):
        other.init_weights()


def test_load_decoder_from_refuses_what_does_not_fit(trained, tmp_path):
    model, _ = trained
    ckpt = _save(model, tmp_path / 'stage1.pth')
    with pytest.raises(VocabularyMismatchError, match='stage1.pth'):
        load_decoder_from(ckpt, _generator(_tokenizer(SENTENCES[:2])))
    wider = _generator(_tokenizer(), decoder=dict(DECODER, in_channels=MEMORY,
                                                  d_model=16))
    with pytest.raises(CheckpointError, match='same decoder config'):
        load_decoder_from(ckpt, wider)
    state = {k: v for k, v in model.state_dict().items()
             if k != 'vocab._extra_state'}
    bare = tmp_path / 'bare.pth'
    torch.save(dict(state_dict=state), bare)
    with pytest.raises(CheckpointError, match='check_vocab=False'):
        load_decoder_from(str(bare), _generator(_tokenizer()))
    assert load_decoder_from(str(bare), _generator(_tokenizer()),
                             check_vocab=False)
    no_decoder = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict={'vocab._extra_state':
                                model.state_dict()['vocab._extra_state'],
                                'backbone.w': torch.zeros(1)}), no_decoder)
    with pytest.raises(CheckpointError, match="no 'decoder.' keys"):
        load_decoder_from(str(no_decoder), _generator(_tokenizer()))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_decoder_from(str(tmp_path / 'missing.pth'), model)


def test_stage1_runner_trains_validates_and_hands_over(tmp_path):
    """The stage-1 config route: Runner + TextbookDataset + ReportMetric."""
    from mmengine.runner import Runner
    path = tmp_path / 'book.json'
    path.write_text(json.dumps([dict(answer=' '.join(SENTENCES * 2))]))
    data = dict(type='TextbookDataset', ann_file=str(path), val_ratio=0,
                pipeline=[dict(type='PackTextInputs')])
    loader = dict(dataset=data, batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    model = dict(type='TextbookPretrainer', decoder=DECODER,
                 tokenizer=_tokenizer(), embed_dims=16, gru_hidden=16,
                 memory_channels=MEMORY, max_len=30)
    runner = Runner(
        model=model, work_dir=str(tmp_path / 'work'),
        experiment_name='stage1', default_scope='rrgkit',
        train_dataloader=loader, val_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
        val_cfg=dict(), optim_wrapper=dict(
            optimizer=dict(type='Adam', lr=5e-4)),
        val_evaluator=dict(type='ReportMetric', eval_tokenizer='whitespace',
                           scores=('BLEU', )),
        custom_hooks=[dict(type='CheckpointGuardHook')],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1)))
    runner.train()
    scores = runner.message_hub.log_scalars
    assert 'val/report/BLEU-1' in scores, sorted(scores)
    gen = _generator(_tokenizer())
    keys = load_decoder_from(str(tmp_path / 'work' / 'epoch_1.pth'), gen)
    assert len(keys) == len(gen.decoder.state_dict())
    trained = runner.model.decoder.state_dict()
    for key in keys:
        assert torch.equal(gen.decoder.state_dict()[key], trained[key]), key
