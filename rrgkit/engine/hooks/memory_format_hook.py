# Copyright (c) rrgkit contributors. All rights reserved.
"""Put the model's convolution weights in channels-last memory format.

On CPU, DenseNet-121 training steps run faster with channels-last weights
(``tools/analysis/bench_backbone_flops.py`` measures it; numbers in
docs/benchmarks.md). A convolution whose weight is channels-last returns a
channels-last output even for a contiguous input, so converting the
model's 4-D parameters once is enough: the images need no conversion, and
checkpoints load into the converted parameters (``load_state_dict`` copies
values, keeping the layout). Results agree with the contiguous layout up to
floating-point summation order.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from rrgkit.registry import HOOKS

__all__ = ['ChannelsLastHook']


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the model to ``torch.channels_last`` before the run.

    Args:
        enabled (bool): Convert at all (a switch for configs and
            ``--cfg-options``). Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def before_run(self, runner) -> None:
        """Convert the 4-D parameters and buffers of the model."""
        if not self.enabled:
            return
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        model.to(memory_format=torch.channels_last)
