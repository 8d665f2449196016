# Copyright (c) rrgkit contributors. All rights reserved.
"""Extracting a backbone's state dict from a checkpoint."""
import pytest
import torch

from rrgkit.apis.backbone_weights import export_backbone, extract_state_dict
from rrgkit.utils.checkpoint import CheckpointError


def _checkpoint():
    conv = torch.arange(24.).reshape(2, 3, 2, 2).to(
        memory_format=torch.channels_last)
    return dict(
        meta=dict(epoch=1),
        state_dict={
            'backbone.conv1.weight': conv,
            'backbone.bn1.num_batches_tracked': torch.tensor(7),
            'backbone.extra': {'not': 'a tensor'},
            'neck.fc.weight': torch.ones(2, 2),
            'head.backbone.weight': torch.ones(1),
        })


def test_keeps_the_prefix_keys_without_the_prefix():
    weights = extract_state_dict(_checkpoint()['state_dict'])
    assert sorted(weights) == ['bn1.num_batches_tracked', 'conv1.weight']
    assert weights['bn1.num_batches_tracked'].item() == 7
    conv = weights['conv1.weight']
    assert conv.is_contiguous()
    assert conv.flatten().tolist() == list(range(24))
    neck = extract_state_dict(_checkpoint()['state_dict'], prefix='neck.')
    assert list(neck) == ['fc.weight']


def test_export_reads_ddp_and_bare_state_dicts(tmp_path):
    state = {'module.' + k: v for k, v in _checkpoint()['state_dict'].items()}
    torch.save(state, tmp_path / 'ddp.pth')
    weights = export_backbone(str(tmp_path / 'ddp.pth'),
                              str(tmp_path / 'out.pth'))
    assert sorted(weights) == ['bn1.num_batches_tracked', 'conv1.weight']


def test_missing_prefix_names_what_the_checkpoint_has():
    with pytest.raises(CheckpointError) as err:
        extract_state_dict(_checkpoint()['state_dict'], prefix='encoder.',
                           source="'x.pth'")
    assert str(err.value) == (
        "Checkpoint 'x.pth' has no weights under 'encoder.' (its top-level "
        "names are ['backbone.', 'head.', 'neck.']). Pass the one that holds "
        'the backbone with --prefix.')


def test_export_writes_a_weights_only_file(tmp_path):
    src = tmp_path / 'ssl.pth'
    torch.save(_checkpoint(), src)
    out = tmp_path / 'sub' / 'backbone.pth'
    export_backbone(str(src), str(out))
    loaded = torch.load(out)  # torch's default weights_only=True
    assert sorted(loaded) == ['bn1.num_batches_tracked', 'conv1.weight']
    assert torch.equal(loaded['conv1.weight'],
                       _checkpoint()['state_dict']['backbone.conv1.weight'])
    with pytest.raises(CheckpointError, match='is the input checkpoint'):
        export_backbone(str(src), str(src))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        export_backbone(str(tmp_path / 'nope.pth'), str(out))
