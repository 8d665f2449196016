# Copyright (c) rrgkit contributors. All rights reserved.
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from rrgkit.engine.hooks import (RetrievalBankHook, refresh_retrieval_bank,
                                 retrieval_encoder)
from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

REPORTS = ['the heart is normal .', 'a nodule in the left lung .',
           'a large mass .', 'the lungs are clear .', 'a small nodule .']


def _model(seed=0):
    torch.manual_seed(seed)
    return MODELS.build(dict(
        type='ReportGenerator',
        backbone=dict(type='DenseNet', arch=dict(
            growth_rate=4, depths=[1, 1], init_channels=8)),
        encoder=dict(type='RetrievalEncoder', num_neighbours=2, key_dims=4,
                     max_report_len=6, dropout=0.0),
        decoder=dict(type='GPTDecoder', d_model=16, num_heads=2,
                     num_layers=1, ffn_dims=32, dropout=0.0),
        tokenizer=ReportTokenizer().build_vocab(REPORTS), max_len=12))


def _batches(batch_size=2):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (len(REPORTS), 3, 32, 32), generator=g,
                           dtype=torch.uint8)
    samples = [ReportDataSample(metainfo=dict(img_id=f'img{i}'))
               .set_gt_report(r) for i, r in enumerate(REPORTS)]
    return [dict(inputs=list(images[i:i + batch_size]),
                 data_samples=samples[i:i + batch_size])
            for i in range(0, len(REPORTS), batch_size)]


def test_refresh_fills_the_bank_from_the_current_weights():
    model = _model().train()
    assert refresh_retrieval_bank(model, _batches(), built_at=5) == 5
    assert model.training  # the mode is restored
    bank = model.encoder.bank
    assert bank.image_ids == [f'img{i}' for i in range(5)]
    assert bank.built_at == 5 and bank.keys.shape == (5, 4)
    torch.testing.assert_close(bank.keys.norm(dim=1), torch.ones(5))
    # Reports as the tokenizer encodes them, cut to max_report_len = 6.
    assert model.tokenizer.batch_decode(bank.report_ids) == [
        'the heart is normal', 'a nodule in the', 'a large mass .',
        'the lungs are clear', 'a small nodule .']
    # The keys are the eval-mode embeddings of the images.
    model.eval()
    data = model.data_preprocessor(_batches(5)[0], False)
    with model.encoder.collecting():
        visual, _ = model.extract_feat(data['inputs'])
    torch.testing.assert_close(bank.keys, visual.extras['retrieval_key'])
    # A training image never retrieves itself.
    visual, _ = model.extract_feat(data['inputs'], data['data_samples'])
    index = visual.extras['retrieved_index']
    assert not (index == torch.arange(5)[:, None]).any()


def test_bank_changes_when_the_weights_change():
    model = _model()
    refresh_retrieval_bank(model, _batches())
    before = model.encoder.bank.keys.clone()
    refresh_retrieval_bank(model, _batches())
    torch.testing.assert_close(model.encoder.bank.keys, before)
    with torch.no_grad():
        model.backbone.stem[0].weight.mul_(-1.5)
    refresh_retrieval_bank(model, _batches())
    assert not torch.allclose(model.encoder.bank.keys, before, atol=1e-3)


def test_forward_loss_and_predict_after_a_refresh():
    model = _model()
    refresh_retrieval_bank(model, _batches())
    data = model.data_preprocessor(_batches(3)[0], True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['loss_report'].item() > 0
    losses['loss_report'].backward()
    assert model.encoder.key_proj.weight.grad.abs().sum() > 0
    samples = model.predict(data['inputs'], data['data_samples'])
    assert all(isinstance(s.pred_report, str) for s in samples)


def test_a_model_without_retrieval_encoder_is_refused():
    model = MODELS.build(dict(
        type='ReportGenerator',
        backbone=dict(type='DenseNet', arch=dict(
            growth_rate=4, depths=[1, 1], init_channels=8)),
        decoder=dict(type='GPTDecoder', d_model=16, num_heads=2,
                     num_layers=1, ffn_dims=32),
        tokenizer=ReportTokenizer().build_vocab(REPORTS)))
    with pytest.raises(ValueError, match='found 0'):
        retrieval_encoder(model)


def _synth(split, size, cache):
    from rrgkit.datasets import (LoadReportImage, PackReportInputs,
                                 SyntheticCTDataset)
    return dict(type=SyntheticCTDataset, split=split, num_images=40,
                image_size=32, cache_root=str(cache), pipeline=[
                    dict(type=LoadReportImage),
                    dict(type='Resize', scale=(size, size),
                         keep_ratio=False),
                    dict(type=PackReportInputs)])


class _Runner(SimpleNamespace):

    def __init__(self, model, cache, batches=4):
        super().__init__(
            model=model, epoch=0, iter=0,
            train_dataloader=[None] * batches,
            logger=MMLogger.get_instance('retrieval-bank-hook-test'),
            cfg=Config(dict(
                train_dataloader=dict(batch_size=8,
                                      dataset=_synth('train', 32, cache)),
                val_dataloader=dict(batch_size=8,
                                    dataset=_synth('val', 24, cache)))))


def test_hook_refreshes_once_per_weights(tmp_path, monkeypatch):
    from rrgkit.engine.hooks import retrieval_bank_hook
    calls = []
    real = retrieval_bank_hook.refresh_retrieval_bank

    def counting(model, batches, built_at):
        calls.append(built_at)
        return real(model, batches, built_at)

    monkeypatch.setattr(retrieval_bank_hook, 'refresh_retrieval_bank',
                        counting)
    runner = _Runner(_model(), tmp_path)
    hook = RetrievalBankHook(interval=2)
    hook.before_train_epoch(runner)
    hook.before_train_epoch(runner)
    assert calls == [0]
    # The training split (32 of 40 images) read with the val pipeline.
    assert len(runner.model.encoder.bank) == 32
    assert next(iter(hook._loader))['inputs'][0].shape == (3, 24, 24)
    runner.iter = 4
    hook.after_train_epoch(runner)  # epoch 1 of interval 2: no rebuild
    assert calls == [0]
    hook.before_val_epoch(runner)  # validation needs the bank of iter 4
    hook.before_val_epoch(runner)
    hook.before_test_epoch(runner)
    assert calls == [0, 4]
    runner.epoch, runner.iter = 1, 8
    hook.after_train_epoch(runner)
    hook.before_val_epoch(runner)
    assert calls == [0, 4, 8]


def test_resumed_run_keeps_the_checkpoints_bank(tmp_path):
    model = _model()
    refresh_retrieval_bank(model, _batches(), built_at=8)
    runner = _Runner(model, tmp_path)
    runner.epoch, runner.iter = 2, 10  # resumed 2 batches into epoch 3
    RetrievalBankHook().before_train_epoch(runner)
    assert len(model.encoder.bank) == 5  # not rebuilt: still the 5 above
    runner.epoch = 3
    RetrievalBankHook().before_train_epoch(runner)
    assert len(model.encoder.bank) == 32 and model.encoder.bank.built_at == 12


def test_bad_arguments():
    with pytest.raises(ValueError, match='interval'):
        RetrievalBankHook(interval=0)
    with pytest.raises(ValueError, match='pipeline'):
        RetrievalBankHook(pipeline='valid')
