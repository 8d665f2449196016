# Copyright (c) rrgkit contributors. All rights reserved.
"""Carry the random streams and loop position through checkpoints."""
from typing import Dict, Optional

from mmengine.hooks import Hook

from rrgkit.registry import HOOKS
from rrgkit.utils.random_state import get_random_state, set_random_state

__all__ = ['ResumeStateHook']

#: Top-level checkpoint key; mmengine's ``Runner.resume`` ignores it.
STATE_KEY = 'train_loop'


@HOOKS.register_module()
class ResumeStateHook(Hook):
    """Save what an exact ``--resume`` needs beyond mmengine's checkpoint.

    * ``before_save_checkpoint``: stores the train loop's
      ``state_dict()`` (for :class:`rrgkit.engine.loops.
      ResumableEpochBasedTrainLoop`: the random streams now and at the start
      of the epoch, and whether validation was running) under
      ``checkpoint['train_loop']``. For another loop it stores the random
      streams only. All values are tensors, ints, floats or strings, so the
      checkpoint still loads with ``weights_only=True``.
    * ``after_load_checkpoint`` (resume only, not ``load_from``): hands the
      state back to the loop, which applies it at the right moment. Another
      loop gets its random streams back in ``before_train``.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[Dict] = None

    @staticmethod
    def _train_loop(runner):
        loop = getattr(runner, '_train_loop', None)
        return None if loop is None or isinstance(loop, dict) else loop

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        loop = self._train_loop(runner)
        if loop is not None and hasattr(loop, 'state_dict'):
            checkpoint[STATE_KEY] = loop.state_dict()
        else:
            checkpoint[STATE_KEY] = dict(random_state=get_random_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(STATE_KEY)
        loop = self._train_loop(runner)
        if state is None or loop is None or not getattr(
                runner, '_resume', False):
            return
        if hasattr(loop, 'load_state_dict'):
            loop.load_state_dict(state)
        else:
            self._pending = state

    def before_train(self, runner) -> None:
        if self._pending is not None:
            set_random_state(self._pending['random_state'])
            self._pending = None
