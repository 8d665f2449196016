# Copyright (c) rrgkit contributors. All rights reserved.
"""``init_cfg=dict(type='Pretrained', ...)`` for torchvision/timm weights.

Importing :mod:`rrgkit` replaces mmengine's ``Pretrained`` weight
initializer with :class:`PretrainedInit`, which takes the same arguments
(``checkpoint``, ``prefix``, ``map_location``) and, on top of mmengine's:

* reads the file through rrgkit's safe loader (local files, ``http(s)://``
  URLs cached under ``$TORCH_HOME/hub/checkpoints``, ``torchvision://``
  names), never with ``weights_only=False``;
* reads mmpretrain, torchvision and timm key layouts (detected from the
  keys; :mod:`rrgkit.utils.weight_converters`) and drops classifier heads;
* unwraps timm/torchvision training checkpoints (``state_dict`` or
  ``model``; ``argparse.Namespace`` arguments allowed);
* sums a 3-channel first conv over its input channels for a backbone built
  with ``in_channels=1``;
* refuses a checkpoint of another architecture with one line
  (:class:`~rrgkit.utils.checkpoint.CheckpointError`) instead of loading
  what fits, and reports missing/unexpected keys in one log line.

The type keeps mmengine's name because mmengine and mmpretrain special-case
the string ``'Pretrained'``: ``BaseModule.init_weights`` applies it after
every other initializer, and mmpretrain's ``ResNet`` skips its
zero-initialised residual norms only then. Write the string, not a class.
"""
import argparse
import logging
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint import CheckpointError, check_checkpoint_fits_model
from .weight_converters import convert_state_dict

__all__ = [
    'PretrainedInit', 'load_pretrained', 'read_pretrained_state',
    'adapt_input_channels', 'STATE_KEYS'
]

#: Where training scripts keep the weights, tried in this order.
STATE_KEYS = ('state_dict', 'model', 'state_dict_ema', 'model_ema')


def _unwrap(checkpoint: dict, state_key: Optional[str], source: str) -> dict:
    if state_key is not None:
        if state_key not in checkpoint:
            raise CheckpointError(
                f'Checkpoint {source} has no {state_key!r} (it has '
                f'{sorted(checkpoint)[:8]}); fix init_cfg.state_key.')
        return checkpoint[state_key]
    for key in STATE_KEYS:
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint


def _strip(state: dict, prefix: str) -> dict:
    return {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }


def adapt_input_channels(state: Dict[str, torch.Tensor],
                         own: Dict[str, torch.Tensor]) -> list:
    """Sum 3-channel conv kernels for convs built with one input channel.

    A grey image copied to 3 channels through a conv ``W`` gives the same
    output as the grey image through ``W.sum(dim=1)``. Changed in place.

    Args:
        state (dict): Checkpoint tensors (module keys).
        own (dict): The module's own state dict.

    Returns:
        list[str]: The keys that were summed.
    """
    summed = []
    for key, value in state.items():
        mine = own.get(key)
        if (isinstance(value, torch.Tensor) and isinstance(mine, torch.Tensor)
                and value.dim() == 4 and mine.dim() == 4
                and value.shape[1] == 3 and mine.shape[1] == 1
                and value.shape[0] == mine.shape[0]
                and value.shape[2:] == mine.shape[2:]):
            state[key] = value.sum(dim=1, keepdim=True)
            summed.append(key)
    return summed


def _short(keys: list, n: int = 4) -> str:
    shown = ', '.join(keys[:n])
    return f'{len(keys)} ({shown}{", ..." if len(keys) > n else ""})'


def read_pretrained_state(checkpoint: str,
                          prefix: Optional[str] = None,
                          map_location: str = 'cpu',
                          state_key: Optional[str] = None) -> dict:
    """Read the weights of a checkpoint in any supported wrapping.

    The file is read with rrgkit's safe loader (``argparse.Namespace``, which
    timm's and torchvision's training scripts pickle, is allowed too). The
    weights are taken from ``state_key``, else the first of
    :data:`STATE_KEYS` present, else the checkpoint itself; a ``module.``
    prefix on every key is removed, then only keys under ``prefix`` are
    kept (without it).

    Args:
        checkpoint (str): Local path, ``http(s)://`` URL or an mmengine
            name such as ``torchvision://resnet18``.
        prefix (str, optional): E.g. ``'backbone.'`` of a whole classifier.
            Defaults to None.
        map_location (str): As for :func:`torch.load`. Defaults to 'cpu'.
        state_key (str, optional): Checkpoint entry holding the weights.
            Defaults to None.

    Returns:
        dict: The state dict (keys as in the file, not converted).

    Raises:
        FileNotFoundError: If a local file does not exist.
        CheckpointError: If the prefix or state key is absent;
            UnsafeCheckpointError (a subclass) for a file that would run code
            when unpickled.
    """
    source = repr(checkpoint)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = CheckpointLoader.load_checkpoint(
                checkpoint, map_location=map_location)
    except FileNotFoundError:
        raise FileNotFoundError(
            f'Pretrained checkpoint {source} does not exist; give a local '
            'file, an http(s):// URL or torchvision://NAME (init_cfg=dict('
            "type='Pretrained', checkpoint=...)).") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'Checkpoint {source} holds a '
                              f'{type(ckpt).__name__}, not a state dict.')
    state = dict(_unwrap(ckpt, state_key, source))
    if state and all(k.startswith('module.') for k in state):
        state = _strip(state, 'module.')
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        found = _strip(state, prefix)
        if not found:
            tops = sorted({k.split('.', 1)[0] + '.' for k in state})
            raise CheckpointError(
                f'Checkpoint {source} has no key under prefix {prefix!r} '
                f'(its top-level names: {tops[:8]}); fix init_cfg.prefix.')
        state = found
    return state


def load_pretrained(module: nn.Module,
                    checkpoint: str,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu',
                    state_key: Optional[str] = None) -> Tuple[list, list]:
    """Load pretrained weights of any supported format into ``module``.

    Args:
        module (nn.Module): The module to initialise (usually a backbone).
        checkpoint (str): See :func:`read_pretrained_state`.
        prefix (str, optional): See :func:`read_pretrained_state`.
            Defaults to None.
        map_location (str): As for :func:`torch.load`. Defaults to 'cpu'.
        state_key (str, optional): See :func:`read_pretrained_state`.
            Defaults to None.

    Returns:
        tuple[list, list]: Missing and unexpected keys (the module's
        ``num_batches_tracked`` buffers are never counted as missing), also
        logged in one line.

    Raises:
        CheckpointError: If nothing fits the module or shapes differ (another
            architecture), besides the errors of
            :func:`read_pretrained_state`.
    """
    state = read_pretrained_state(checkpoint, prefix, map_location,
                                  state_key)
    own = module.state_dict()
    state, layout = convert_state_dict(state, 'auto', own)
    summed = adapt_input_channels(state, own)
    notes = [f'{layout} keys'] + [f'{k} summed over 3 input channels'
                                  for k in summed]
    source = f'{checkpoint!r} ({", ".join(notes)})'
    check_checkpoint_fits_model(
        module, state, source,
        advice='It holds another architecture: set the backbone (e.g. its '
        'arch/depth) to the one the weights were trained with, or use '
        'weights of this one.')
    result = module.load_state_dict(state, strict=False)
    missing = [
        k for k in result.missing_keys if 'num_batches_tracked' not in k
    ]
    unexpected = list(result.unexpected_keys)
    loaded = len([k for k in state if k in own])
    msg = (f'Pretrained: {type(module).__name__} <- {source}: loaded '
           f'{loaded}/{len(own)} tensors; missing {_short(missing)}; '
           f'unexpected {_short(unexpected)}')
    print_log(msg, logger='current',
              level=logging.WARNING if missing or unexpected else logging.INFO)
    return missing, unexpected


class PretrainedInit:
    """mmengine's ``Pretrained`` initializer, extended (see module doc).

    Args:
        checkpoint (str): Local path, URL or ``torchvision://`` name.
        prefix (str, optional): Sub-module prefix in the checkpoint, e.g.
            ``'backbone.'``. Defaults to None.
        map_location (str): As for :func:`torch.load`. Defaults to 'cpu'.
        state_key (str, optional): See :func:`load_pretrained`.
            Defaults to None.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 state_key: Optional[str] = None) -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.state_key = state_key

    def __call__(self, module: nn.Module) -> None:
        load_pretrained(module, self.checkpoint, self.prefix,
                        self.map_location, self.state_key)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{self.__class__.__name__}: load from {self.checkpoint}'


# Replace mmengine's 'Pretrained' (the same arguments, a superset of its
# behaviour): every registry that resolves 'Pretrained' reaches this one.
WEIGHT_INITIALIZERS.register_module(
    name='Pretrained', module=PretrainedInit, force=True)
