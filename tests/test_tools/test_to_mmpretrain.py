# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/model_converters/to_mmpretrain.py on a tiny torchvision DenseNet."""
import argparse

import pytest
import torch
import torchvision
from mmengine.model.weight_init import PretrainedInit as MMEnginePretrained
from mmpretrain.models import DenseNet

from rrgkit.utils.checkpoint import CheckpointError
from rrgkit.utils.setup_env import run_cli
from .conftest import load_tool

TINY = dict(growth_rate=4, depths=[2, 2], init_channels=8)


@pytest.fixture(scope='module')
def tool():
    return load_tool('model_converters/to_mmpretrain')


@pytest.fixture
def source(tmp_path):
    torch.manual_seed(0)
    model = torchvision.models.DenseNet(
        growth_rate=4, block_config=(2, 2), num_init_features=8)
    state = model.state_dict()
    # A torchvision training checkpoint (references/classification/train.py)
    torch.save(dict(model=state, epoch=1, args=argparse.Namespace(lr=0.1)),
               tmp_path / 'tv.pth')
    return state, str(tmp_path / 'tv.pth')


def test_converted_file_loads_with_plain_torch_and_mmengine(
        tool, source, tmp_path, capsys):
    state, src = source
    dst = str(tmp_path / 'out' / 'densenet_mm.pth')
    tool.main([src, dst, '--format', 'torchvision'])
    assert 'Converted 65 tensors (torchvision-densenet keys; 2 classifier' \
        in capsys.readouterr().out
    weights = torch.load(dst)  # torch's default weights_only=True
    assert torch.equal(weights['transitions.1.0.weight'],
                       state['features.norm5.weight'])
    # mmengine's own Pretrained initializer reads it as is.
    backbone = DenseNet(arch=TINY)
    MMEnginePretrained(checkpoint=dst)(backbone)
    assert torch.equal(backbone.stem[0].weight,
                       state['features.conv0.weight'])


def test_input_errors(tool, source, tmp_path):
    _, src = source
    dst = str(tmp_path / 'mm.pth')
    with pytest.raises(CheckpointError, match="format 'timm' does not"):
        torch.save(DenseNet(arch=TINY).state_dict(), dst)
        tool.main([dst, str(tmp_path / 'x.pth'), '--format', 'timm'])
    with pytest.raises(CheckpointError, match='loads as is'):
        tool.main([dst, str(tmp_path / 'x.pth')])
    with pytest.raises(CheckpointError, match='is the input'):
        tool.main([src, src])


def test_cli_prints_one_line_and_exits_2(tool, tmp_path, capsys):
    # What ``python tools/model_converters/to_mmpretrain.py`` runs.
    with pytest.raises(SystemExit) as exit_:
        run_cli(lambda: tool.main([str(tmp_path / 'missing.pth'),
                                   str(tmp_path / 'out.pth')]))
    assert exit_.value.code == 2
    # (Only the last line: earlier tests' log handlers may also write here.)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: Pretrained checkpoint '")
    assert err.endswith("missing.pth' does not exist; give a local file, an "
                        'http(s):// URL or torchvision://NAME (init_cfg='
                        "dict(type='Pretrained', checkpoint=...)).")
