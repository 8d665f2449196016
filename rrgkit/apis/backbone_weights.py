# Copyright (c) rrgkit contributors. All rights reserved.
"""Take one submodule's weights (e.g. the backbone) out of a checkpoint.

Self-supervised pretraining (``configs/selfsup/``) trains an mmpretrain
algorithm whose image encoder is its ``backbone``; a report model wants only
those weights. :func:`export_backbone` writes them as a plain state dict
(tensor values only, keys without the ``backbone.`` prefix), the format of
mmpretrain's own backbone weights: ``torch.load`` reads it with its default
``weights_only=True``, and a backbone's
``init_cfg=dict(type='Pretrained', checkpoint=...)`` loads it.
"""
import os.path as osp
from typing import Dict

import torch

from rrgkit.utils.checkpoint import CheckpointError
from rrgkit.utils.fileio import atomic_write
from rrgkit.utils.pretrained import read_pretrained_state

__all__ = ['extract_state_dict', 'export_backbone']


def extract_state_dict(state: Dict,
                       prefix: str = 'backbone.',
                       source: str = 'the checkpoint'
                       ) -> Dict[str, torch.Tensor]:
    """The tensors of a state dict under ``prefix``, without the prefix.

    Values come back detached, on the CPU and in the standard contiguous
    layout (training may have made the convolution weights channels-last,
    see :class:`~rrgkit.engine.hooks.ChannelsLastHook`). Non-tensor entries
    (extra state) are left out.

    Args:
        state (dict): A state dict (e.g. from
            :func:`~rrgkit.utils.pretrained.read_pretrained_state`).
        prefix (str): Keep the keys that start with this. Defaults to
            ``'backbone.'``.
        source (str): Where the state dict came from, for the error message.
            Defaults to ``'the checkpoint'``.

    Returns:
        dict[str, Tensor]: The submodule's state dict.

    Raises:
        CheckpointError: If no tensor key starts with ``prefix``.
    """
    weights = {
        k[len(prefix):]: v.detach().cpu().contiguous()
        for k, v in state.items()
        if k.startswith(prefix) and isinstance(v, torch.Tensor)
    }
    if not weights:
        tops = sorted({k.split('.', 1)[0] + '.' for k in state})
        raise CheckpointError(
            f'Checkpoint {source} has no weights under {prefix!r} (its '
            f'top-level names are {tops[:8]}). Pass the one that holds the '
            'backbone with --prefix.')
    return weights


def export_backbone(checkpoint: str,
                    out: str,
                    prefix: str = 'backbone.') -> Dict[str, torch.Tensor]:
    """Write the ``prefix`` weights of ``checkpoint`` to ``out``.

    The checkpoint is read like a ``Pretrained`` file
    (:func:`~rrgkit.utils.pretrained.read_pretrained_state`: rrgkit's safe
    loader, ``state_dict`` unwrapped, a DDP ``module.`` prefix dropped);
    ``out`` is written atomically and holds a plain ``{name: tensor}`` dict.

    Args:
        checkpoint (str): A checkpoint written by ``tools/train.py`` (e.g. a
            SimCLR run's ``epoch_15.pth``).
        out (str): Output file.
        prefix (str): See :func:`extract_state_dict`. Defaults to
            ``'backbone.'``.

    Returns:
        dict[str, Tensor]: The weights written.

    Raises:
        FileNotFoundError, CheckpointError: If the checkpoint cannot be used.
    """
    if osp.abspath(out) == osp.abspath(checkpoint):
        raise CheckpointError(
            f'Output {out!r} is the input checkpoint; give another path.')
    weights = extract_state_dict(read_pretrained_state(checkpoint), prefix,
                                 repr(checkpoint))
    atomic_write(out, lambda f: torch.save(weights, f))
    return weights
