# Copyright (c) rrgkit contributors. All rights reserved.
"""mmengine's Runner, with a weight sync that fits models with extra state."""
import torch
import torch.nn as nn
from mmengine.dist import all_gather_object, broadcast, get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from rrgkit.registry import RUNNERS

__all__ = ['ReportRunner', 'sync_model_state']


def sync_model_state(model: nn.Module) -> None:
    """Copy rank 0's tensors to all ranks; check the other state is equal.

    mmengine broadcasts every ``state_dict()`` value after ``init_weights``.
    A :class:`~rrgkit.models.ReportGenerator`'s state dict also holds its
    vocabulary (``vocab._extra_state``, a dict of strings), which
    ``mmengine.dist.broadcast`` rejects with a ``TypeError``. Tensors are
    broadcast as mmengine does; every other value (built by each rank on its
    own, e.g. the vocabulary from the training split) must already be
    identical on all ranks, else the ranks would train different models.

    Args:
        model (nn.Module): The unwrapped model.

    Raises:
        RuntimeError: If a non-tensor state value differs between ranks.
    """
    others = {}
    for name, value in model.state_dict().items():
        if isinstance(value, torch.Tensor):
            broadcast(value)
        else:
            others[name] = value
    if not others or get_world_size() == 1:
        return
    gathered = all_gather_object(others)
    for name in others:
        if any(state[name] != gathered[0][name] for state in gathered[1:]):
            raise RuntimeError(
                f'Model state {name!r} differs between ranks (e.g. each '
                'rank built another vocabulary from its data); all ranks '
                'must see the same training split and settings.')


@RUNNERS.register_module()
class ReportRunner(Runner):
    """:class:`mmengine.runner.Runner` whose initial weight sync skips the
    non-tensor state of rrgkit models (see :func:`sync_model_state`).

    The tools use it for distributed runs (``--launcher`` other than
    ``none``) unless the config sets its own ``runner_type``; on one process
    it behaves exactly as mmengine's Runner.
    """

    def _init_model_weights(self) -> None:
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        if hasattr(model, 'init_weights'):
            model.init_weights()
            sync_model_state(model)
