# Copyright (c) rrgkit contributors. All rights reserved.
from types import SimpleNamespace

import torch
from mmengine.model import BaseModel

from rrgkit.engine.hooks import ChannelsLastHook


class _Net(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


def test_weights_become_channels_last_and_outputs_agree():
    torch.manual_seed(0)
    net = _Net().eval()
    x = torch.randn(2, 3, 16, 16)
    before = net(x)
    hook_conv = net.conv(x)
    assert not hook_conv.is_contiguous(memory_format=torch.channels_last)
    ChannelsLastHook().before_run(SimpleNamespace(model=net))
    assert net.conv.weight.is_contiguous(memory_format=torch.channels_last)
    # A contiguous input gives a channels-last activation.
    assert net.conv(x).is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(net(x), before, rtol=1e-5, atol=1e-5)
    # Loading a contiguous state dict keeps the layout.
    net.load_state_dict(_Net().state_dict())
    assert net.conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_disabled_leaves_the_model_alone():
    net = _Net()
    ChannelsLastHook(enabled=False).before_run(SimpleNamespace(model=net))
    assert not net.conv.weight.is_contiguous(
        memory_format=torch.channels_last)
