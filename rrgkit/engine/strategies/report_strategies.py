# Copyright (c) rrgkit contributors. All rights reserved.
"""mmengine ``FlexibleRunner`` strategies that fit rrgkit's models.

Every mmengine strategy syncs the initial weights by broadcasting each
``state_dict()`` value (``BaseStrategy._init_model_weights``); a
:class:`~rrgkit.models.ReportGenerator` also keeps its vocabulary there (a
dict of strings), which ``mmengine.dist.broadcast`` rejects. These
subclasses sync with :func:`~rrgkit.engine.runners.sync_model_state`
instead, as :class:`~rrgkit.engine.ReportRunner` does for ``Runner``.

On a CPU-only machine the DDP and FSDP strategies also build their wrapper
without a GPU index (``device_ids=None`` / ``device_id=None``), which
mmengine passes as ``LOCAL_RANK`` by default; together with the ``gloo``
backend that :func:`rrgkit.utils.dist.setup_distributed` picks, this is how
``FlexibleRunner`` runs on CPU. Settings given in ``model_wrapper`` win.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine._strategy import DDPStrategy, DeepSpeedStrategy, FSDPStrategy
from mmengine.device import get_device
from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu

from rrgkit.registry import STRATEGIES
from ..runners.report_runner import sync_model_state

__all__ = [
    'ReportDDPStrategy', 'ReportFSDPStrategy', 'ReportDeepSpeedStrategy',
    'cpu_wrapper_cfg'
]


def cpu_wrapper_cfg(model_wrapper: Optional[dict], default: dict,
                    **cpu_args) -> Optional[dict]:
    """Return a wrapper config that keeps the model on the CPU where there
    is no GPU.

    mmengine's strategies pass ``LOCAL_RANK`` as the wrapper's GPU index in
    ``default_args``; a key of the wrapper config overrides a default
    argument, so ``cpu_args`` replace it.

    Args:
        model_wrapper (dict, optional): The strategy's ``model_wrapper``.
        default (dict): mmengine's wrapper config for a missing
            ``model_wrapper``.
        **cpu_args: Wrapper arguments for CPU, set unless given.

    Returns:
        dict or None: ``model_wrapper`` unchanged on a GPU machine; else a
        copy of it (or of ``default``) with ``cpu_args`` added.
    """
    if get_device() != 'cpu':
        return model_wrapper
    cfg = dict(model_wrapper or default)
    for key, value in cpu_args.items():
        cfg.setdefault(key, value)
    return cfg


class _SyncModelStateMixin:
    """``_init_model_weights`` with :func:`sync_model_state` as the sync."""

    def _init_model_weights(self, model: nn.Module) -> nn.Module:
        # Same condition as mmengine's BaseStrategy._init_model_weights.
        if (hasattr(model, 'init_weights') and self.dispatch_kwargs.get(
                'init_weights_for_test_or_val', True)):
            model.init_weights()
            sync_model_state(model)
        return model


@STRATEGIES.register_module()
class ReportDDPStrategy(_SyncModelStateMixin, DDPStrategy):
    """mmengine's :class:`~mmengine._strategy.DDPStrategy` for rrgkit models.

    Syncs the initial weights with :func:`sync_model_state`, on CPU wraps
    the model without ``device_ids``, and saves the state dict of the
    unwrapped model, as ``Runner`` does (mmengine's strategy prefixes every
    key with ``module.``, so rrgkit's readers would not find
    ``vocab._extra_state``). Takes the same arguments.
    """

    def model_state_dict(self) -> dict:
        """The unwrapped model's state dict, on CPU."""
        return weights_to_cpu(get_state_dict(self.model))

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        # mmengine's default wrapper (broadcast_buffers=False), on the CPU.
        self.model_wrapper = cpu_wrapper_cfg(
            self.model_wrapper,
            dict(type='MMDistributedDataParallel', broadcast_buffers=False),
            device_ids=None)
        return super()._wrap_model(model)


@STRATEGIES.register_module()
class ReportFSDPStrategy(_SyncModelStateMixin, FSDPStrategy):
    """mmengine's :class:`~mmengine._strategy.FSDPStrategy` for rrgkit models.

    Syncs the initial weights with :func:`sync_model_state` (before the
    model is sharded) and, on CPU, wraps it with ``device_id=None``. Use
    ``state_dict_cfg='full'`` for checkpoints that ``tools/test.py`` can
    read. Takes the same arguments.
    """

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        # torch's FSDP takes a CPU module only with an explicit CPU device.
        self.model_wrapper = cpu_wrapper_cfg(
            self.model_wrapper, dict(type='MMFullyShardedDataParallel'),
            device_id=torch.device('cpu'))
        return super()._wrap_model(model)


@STRATEGIES.register_module()
class ReportDeepSpeedStrategy(_SyncModelStateMixin, DeepSpeedStrategy):
    """mmengine's :class:`~mmengine._strategy.DeepSpeedStrategy` for rrgkit
    models: syncs the initial weights with :func:`sync_model_state`.

    Importing it needs no ``deepspeed``; building it does (mmengine asserts
    that DeepSpeed is installed). DeepSpeed needs GPUs. Takes the same
    arguments.
    """
