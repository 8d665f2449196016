# Copyright (c) rrgkit contributors. All rights reserved.
"""MDNet's joint-optimisation schedule: beta rises from 0 to 1 in training."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from rrgkit.models.utils.grad_balance import sigmoid_ramp
from rrgkit.registry import HOOKS

__all__ = ['BetaScheduleHook']


@HOOKS.register_module()
class BetaScheduleHook(Hook):
    """Set ``beta`` of every module with ``set_beta`` before each iteration.

    MDNet (eq. 12) updates the image model with
    ``(1 - beta) dL_M + beta * eta * dL_L``: early on the image model learns
    the diagnosis, later mostly from the language model. ``beta`` follows
    :func:`~rrgkit.models.utils.grad_balance.sigmoid_ramp` of the share of
    training iterations done, optionally reaching 1 before the end. It is
    logged as ``beta``.

    Args:
        steepness (float): Slope of the sigmoid ramp. Defaults to 10.
        end (float): Share of training at which beta reaches 1.
            Defaults to 1.
    """

    priority = 'NORMAL'

    def __init__(self, steepness: float = 10.0, end: float = 1.0) -> None:
        if not 0.0 < end <= 1.0:
            raise ValueError(f'BetaScheduleHook: end must be in (0, 1], got '
                             f'{end}')
        self.steepness = steepness
        self.end = end

    @staticmethod
    def _targets(runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        return [m for m in model.modules() if hasattr(m, 'set_beta')]

    def before_train(self, runner) -> None:
        if not self._targets(runner):
            raise ValueError(
                'BetaScheduleHook: the model has no module with set_beta() '
                "(e.g. region_proposer=dict(type='AASProposer', ...)); "
                'remove the hook or add such a module.')

    def beta_at(self, iteration: int, max_iters: int) -> float:
        """beta after ``iteration`` of ``max_iters`` iterations."""
        progress = iteration / max(1, max_iters - 1) / self.end
        return sigmoid_ramp(progress, self.steepness)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        beta = self.beta_at(runner.iter, runner.max_iters)
        for module in self._targets(runner):
            module.set_beta(beta)
        runner.message_hub.update_scalar('train/beta', beta)
