# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/analysis/probe_features.py on the tiny synthetic data."""
import os.path as osp

import pytest
import torch

from rrgkit.apis.results import load_record
from rrgkit.utils.checkpoint import CheckpointError
from .conftest import REPO, load_tool, tiny_synth_options

CONFIG = osp.join(REPO, 'configs', 'nic_synth.py')


def test_probe_writes_a_record_with_both_aucs(tmp_path, capsys):
    record_path, saved = tmp_path / 'probe.json', tmp_path / 'bb.pth'
    options = tiny_synth_options(tmp_path / 'cache')
    tool = load_tool('analysis/probe_features')
    tool.main([CONFIG, '--name', 'tiny', '--minutes', '1.5', '--record',
               str(record_path), '--save-backbone', str(saved),
               '--cfg-options', *options])
    assert 'tiny (val' in capsys.readouterr().out
    # The saved weights are the probed ones: probed again, the same AUCs.
    again = tmp_path / 'again.json'
    tool.main([CONFIG, '--checkpoint', str(saved), '--prefix', '',
               '--record', str(again), '--cfg-options', *options])
    for key in ('label_AUC', 'tags_AUC'):
        assert load_record(str(again))['metrics'][key] == load_record(
            str(record_path))['metrics'][key]
    assert all(isinstance(v, torch.Tensor) for v in torch.load(
        saved, weights_only=True).values())
    record = load_record(str(record_path))
    metrics = record['metrics']
    assert record['recipe'] == 'tiny' and record['split'] == 'val'
    assert 0.0 <= metrics['label_AUC'] <= 1.0
    assert 0.0 <= metrics['tags_AUC'] <= 1.0 and metrics['num_tags'] >= 1
    assert metrics['train_minutes'] == 1.5
    assert record['checkpoint'] is None


def test_checkpoint_weights_are_loaded_and_bad_ones_refused(tmp_path):
    tool = load_tool('analysis/probe_features')
    backbone = torch.nn.Conv2d(3, 4, 3)
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {f'backbone.{k}': v + 1 for k, v in
                               backbone.state_dict().items()}}, good)
    assert tool.load_backbone_weights(backbone, str(good), 'backbone.') == 2
    assert torch.equal(backbone.bias, torch.load(good)['state_dict'][
        'backbone.bias'])
    with pytest.raises(CheckpointError, match="no keys starting with 'x.'"):
        tool.load_backbone_weights(backbone, str(good), 'x.')
    wrong = tmp_path / 'wrong.pth'
    torch.save({'backbone.weight': torch.zeros(1)}, wrong)
    with pytest.raises(CheckpointError, match='does not fit'):
        tool.load_backbone_weights(backbone, str(wrong), 'backbone.')
