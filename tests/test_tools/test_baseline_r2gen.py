# Copyright (c) rrgkit contributors. All rights reserved.
"""The R2Gen configs: the synthetic one trains through tools/train.py."""
import glob
import json
import os.path as osp

from rrgkit.models import R2GenDecoder, TransformerVisualEncoder
from rrgkit.utils.checkpoint import safe_load_checkpoint
from rrgkit.utils.setup_env import load_config
from .conftest import (LOADERS, REPO, load_tool, loader_options,
                       synth_data_options)

CONFIGS = osp.join(REPO, 'configs', 'r2gen')
SYNTH = osp.join(CONFIGS, 'r2gen_densenet_tiny_1xb16_20e_synth.py')
COVCTR = osp.join(CONFIGS, 'r2gen_densenet121_1xb16_10e_covctr_en.py')


def _tiny_options(cache):
    tiny = ['d_model=16', 'num_heads=2', 'num_layers=1', 'ffn_dims=32']
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'experiment_name=r2gen_tiny', 'default_hooks.logger.interval=1',
            'model.backbone.arch.growth_rate=4',
            'model.backbone.arch.depths=[1,1]',
            'model.backbone.arch.init_channels=8',
            'model.decoder.num_slots=2', 'model.decoder.rm_num_heads=2',
            'model.max_len=30', 'model.beam_size=2',
            'model.tokenizer.min_freq=1']
    opts += [f'model.encoder.{t}' for t in tiny]
    opts += [f'model.decoder.{t}' for t in tiny]
    keys = LOADERS + ['model.tokenizer.corpus']
    return opts + loader_options() + synth_data_options(cache, keys)


def test_synthetic_config_trains_one_tiny_epoch(tmp_path):
    work_dir = str(tmp_path / 'work')
    load_tool('train').main([SYNTH, '--work-dir', work_dir, '--cfg-options',
                             *_tiny_options(tmp_path / 'cache')])
    ckpt = safe_load_checkpoint(osp.join(work_dir, 'epoch_1.pth'))
    weights = ckpt['state_dict']
    assert weights['encoder.input_proj.0.weight'].shape == (16, 10)
    assert weights['decoder.memory.word_gates.weight'].shape == (32, 16)
    assert weights['decoder.final_norm.mlp_gamma.0.weight'].shape == (16, 32)
    scalars = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                        'scalars.json')))[-1]
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    losses = [r['loss_report'] for r in rows if 'loss_report' in r]
    assert losses and all(0 < loss < 20 for loss in losses)
    val = [r for r in rows if 'report/CIDEr-D' in r]
    assert val and val[-1]['report/CIDEr-D'] >= 0


def test_covctr_config_follows_the_paper_at_cpu_size():
    cfg = load_config(COVCTR)
    encoder, decoder = cfg.model.encoder, cfg.model.decoder
    assert encoder.type is TransformerVisualEncoder
    assert decoder.type is R2GenDecoder
    assert encoder.d_model == decoder.d_model == 256
    assert encoder.num_layers == decoder.num_layers == 3
    assert decoder.num_slots == 3 and decoder.num_heads == 8
    assert 'embed_dims' not in decoder  # nothing left of NIC's LSTM
    assert cfg.model.beam_size == 3 and cfg.train_cfg.max_epochs == 10
    assert cfg.model.backbone.arch == '121'
    assert cfg.train_dataloader.dataset.pipeline[1].scale == (128, 128)
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    lr_mult = cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult
    assert cfg.optim_wrapper.optimizer.lr * lr_mult == 1e-3
