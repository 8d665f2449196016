# Copyright (c) rrgkit contributors. All rights reserved.
"""SAT and AdaAtt baselines: the synthetic configs train through
tools/train.py; the COV-CTR configs differ from NIC's in the decoder only."""
import glob
import json
import os.path as osp

import pytest

from rrgkit.utils.checkpoint import safe_load_checkpoint
from rrgkit.utils.setup_env import load_config
from .conftest import REPO, tiny_synth_options

BASELINES = {
    'sat': ('sat/sat_densenet_tiny_1xb16_20e_synth.py',
            'sat/sat_densenet121_1xb16_10e_covctr_en.py',
            'AttentionLSTMDecoder', 'decoder.attn_feat.weight'),
    'adaatt': ('adaatt/adaatt_densenet_tiny_1xb16_20e_synth.py',
               'adaatt/adaatt_densenet121_1xb16_10e_covctr_en.py',
               'AdaptiveAttentionDecoder', 'decoder.attn_sentinel.weight'),
}


@pytest.mark.parametrize('name', sorted(BASELINES))
def test_synthetic_config_trains_and_validates(name, tmp_path, train_tool):
    config, _, _, decoder_key = BASELINES[name]
    work_dir = str(tmp_path / 'work')
    opts = tiny_synth_options(tmp_path / 'cache', max_epochs=1)
    opts += ['train_cfg.val_interval=1', 'model.decoder.attn_dims=8']
    train_tool.main([osp.join(REPO, 'configs', config), '--work-dir',
                     work_dir, '--cfg-options', *opts])
    ckpt = safe_load_checkpoint(osp.join(work_dir, 'epoch_1.pth'))
    assert ckpt['meta']['epoch'] == 1
    # The tiny sizes from the options reached the attention decoder.
    assert tuple(ckpt['state_dict'][decoder_key].shape)[0] == 8
    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars[0]) as f:
        rows = [json.loads(line) for line in f]
    assert any('loss_report' in r for r in rows)
    val = [r for r in rows if 'report/CIDEr-D' in r]
    assert len(val) == 1 and val[0]['step'] == 1
    assert 0.0 <= val[0]['report/BLEU-4'] <= 1.0
    assert 'most_frequent/CIDEr-D' in val[0]


@pytest.mark.parametrize('name', sorted(BASELINES))
def test_covctr_config_changes_only_the_decoder(name):
    _, config, decoder_type, _ = BASELINES[name]
    cfg = load_config(osp.join(REPO, 'configs', config))
    nic = load_config(osp.join(REPO, 'configs', 'nic',
                               'nic_densenet121_1xb16_10e_covctr_en.py'))
    decoder = cfg.model.pop('decoder')
    nic.model.pop('decoder')
    assert decoder['type'].__name__ == decoder_type
    assert 'feed_image' not in decoder  # NIC's keys were not merged in
    assert cfg.model.to_dict() == nic.model.to_dict()
    for key in ('train_dataloader', 'val_dataloader', 'train_cfg',
                'param_scheduler', 'optim_wrapper'):
        assert cfg[key] == nic[key], key
    assert cfg.train_dataloader.dataset.pipeline[1]['scale'] == (128, 128)
    assert cfg.train_cfg.max_epochs == 10
