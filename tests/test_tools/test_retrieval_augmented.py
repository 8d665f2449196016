# Copyright (c) rrgkit contributors. All rights reserved.
"""Retrieval-augmented configs: a tiny synthetic run through tools/train.py,
forward/loss/predict with the GPT and the attention-LSTM decoders, the
COV-CTR config, and the clear error when the bank hook is missing."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from rrgkit.apis.model_from_checkpoint import init_report_model
from rrgkit.engine.hooks import RetrievalBankHook, refresh_retrieval_bank
from rrgkit.models.decoders import AttentionLSTMDecoder, GPTDecoder
from rrgkit.models.encoders import RetrievalEncoder
from rrgkit.registry import DATASETS, MODELS
from rrgkit.utils.checkpoint import safe_load_checkpoint
from rrgkit.utils.setup_env import load_config, run_cli
from .conftest import (LOADERS, REPO, loader_options, load_tool,
                       synth_data_options)

CONFIGS = osp.join(REPO, 'configs', 'retrieval')
SYNTH = osp.join(CONFIGS, 'retrieval_gpt_densenet_tiny_1xb16_20e_synth.py')
COVCTR = osp.join(CONFIGS, 'retrieval_gpt_densenet121_1xb16_10e_covctr_en.py')
TINY = ['model.backbone.arch.growth_rate=4',
        'model.backbone.arch.depths=[1,1]',
        'model.backbone.arch.init_channels=8', 'model.encoder.key_dims=8',
        'model.encoder.max_report_len=30', 'model.decoder.d_model=16',
        'model.decoder.num_heads=2', 'model.decoder.ffn_dims=32',
        'model.decoder.max_len=32', 'model.max_len=30',
        'model.tokenizer.min_freq=1']


def _options(tmp_path, max_epochs=1):
    opts = [f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=1',
            f'experiment_name=retrieval_{tmp_path.name}',
            'default_hooks.logger.interval=1', *TINY]
    return opts + loader_options() + synth_data_options(
        tmp_path / 'cache', LOADERS + ['model.tokenizer.corpus'])


def test_synthetic_config_trains_and_saves_the_bank(tmp_path):
    work = tmp_path / 'work'
    load_tool('train').main([SYNTH, '--work-dir', str(work), '--cfg-options',
                             *_options(tmp_path)])
    ckpt = safe_load_checkpoint(str(work / 'epoch_1.pth'))
    bank = ckpt['state_dict']['encoder._extra_state']
    # 32 training images (80 % of 40); rebuilt after the epoch's 4 batches,
    # before the checkpoint was saved.
    assert len(bank['image_ids']) == 32 == len(set(bank['image_ids']))
    assert bank['built_at'] == 4 and bank['keys'].shape == (32, 8)
    assert bank['report_ids'].shape[1] <= 30
    scalars = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))[0]
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    assert any('loss_report' in r for r in rows)
    assert any('report/CIDEr-D' in r for r in rows)
    logs = open(glob.glob(str(work / '*' / '*.log'))[0]).read()
    # Built before the first epoch and after it (validation reuses it).
    assert logs.count('memory bank of 32 training reports rebuilt') == 2
    # Inference from the checkpoint alone retrieves from the saved bank.
    model = init_report_model(str(work / 'epoch_1.pth'))
    assert model.encoder.bank.image_ids == bank['image_ids']
    samples = model.predict(torch.rand(2, 3, 32, 32) * 255)
    assert all(isinstance(s.pred_report, str) for s in samples)


@pytest.mark.parametrize('decoder', ['gpt', 'attention_lstm'])
def test_forward_loss_predict_with_each_decoder(tmp_path, decoder):
    cfg = load_config(SYNTH)
    data = dict(num_images=40, image_size=32,
                cache_root=str(tmp_path / 'cache'))
    cfg.train_dataloader.dataset.update(data)
    cfg.model.tokenizer.corpus.update(data)
    cfg.model.tokenizer.min_freq = 1
    cfg.model.backbone.arch = dict(growth_rate=4, depths=[1, 1],
                                   init_channels=8)
    cfg.model.encoder.update(key_dims=8, max_report_len=80)
    cfg.model.max_len = 30
    if decoder == 'gpt':
        cfg.model.decoder = dict(type=GPTDecoder, d_model=16, num_heads=2,
                                 num_layers=1, ffn_dims=32, max_len=32)
    else:
        cfg.model.decoder = dict(type=AttentionLSTMDecoder, embed_dims=16,
                                 hidden_dims=16, attn_dims=8, dropout=0.0)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    loader = DataLoader(dataset, batch_size=8, collate_fn=pseudo_collate)
    assert refresh_retrieval_bank(model, loader) == 32
    data = model.data_preprocessor(next(iter(loader)), True)
    model.train()
    losses = model.loss(data['inputs'], data['data_samples'])
    losses['loss_report'].backward()
    assert torch.isfinite(losses['loss_report'])
    assert model.encoder.key_proj.weight.grad.abs().sum() > 0
    model.eval()
    visual, _ = model.extract_feat(data['inputs'], data['data_samples'])
    mask = visual.extras['token_mask']
    assert visual.tokens.shape[:2] == mask.shape
    # 16 image positions (4x4 at 32 px), then 2 reports of up to 80 tokens
    # padded to the longest.
    assert mask[:, :16].all() and not mask.all()
    assert (visual.tokens.shape[1] - 16) % 2 == 0
    if decoder == 'attention_lstm':
        ids, _ = model.tokenizer.batch_encode(
            [s.gt_report for s in data['data_samples']], max_len=30)
        _, alphas = model.decoder.forward_with_attention(visual, ids)
        assert alphas[~mask[:, None].expand_as(alphas)].abs().max() == 0
    samples = model.predict(data['inputs'], data['data_samples'])
    assert len(samples) == 8 and all(
        isinstance(s.pred_report, str) for s in samples)


def test_covctr_config():
    cfg = load_config(COVCTR)
    nic = load_config(osp.join(REPO, 'configs', 'nic',
                               'nic_densenet121_1xb16_10e_covctr_en.py'))
    assert cfg.model.encoder['type'] is RetrievalEncoder
    assert cfg.model.encoder.num_neighbours == 3
    assert cfg.model.decoder['type'] is GPTDecoder
    assert 'feed_image' not in cfg.model.decoder  # NIC's keys not merged
    assert any(h['type'] is RetrievalBankHook for h in cfg.custom_hooks)
    for key in ('backbone', 'tokenizer', 'max_len', 'beam_size'):
        assert cfg.model[key] == nic.model[key], key
    for key in ('train_dataloader', 'val_dataloader', 'train_cfg'):
        assert cfg[key] == nic[key], key
    assert cfg.optim_wrapper.optimizer.lr == 5e-4


def test_missing_bank_hook_is_one_clear_line(tmp_path, capsys):
    cfg = load_config(SYNTH)
    index = [i for i, h in enumerate(cfg.custom_hooks)
             if h['type'] is RetrievalBankHook][0]
    opts = _options(tmp_path) + [f'custom_hooks.{index}.type=FiniteLossHook']
    train = load_tool('train')
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda: train.main([SYNTH, '--work-dir',
                                    str(tmp_path / 'w'), '--cfg-options',
                                    *opts]))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(
        'error: The memory bank of training reports of RetrievalEncoder '
        "(model.encoder) is empty: add dict(type='RetrievalBankHook') to "
        "the config's custom_hooks")
    assert 'Traceback' not in err
