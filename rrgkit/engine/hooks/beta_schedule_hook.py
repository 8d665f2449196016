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

    The other schedules give the paper's comparison rows with the same
    model: ``'constant'`` with ``value=0`` trains the image model on the
    diagnosis only while the language model learns on its features (a
    "pretrained CNN, then LSTM" without fine-tuning); ``'step'`` switches
    from 0 to 1 at ``end`` (the image model is then fine-tuned by the
    language loss only).

    Args:
        schedule (str): ``'sigmoid'``, ``'step'`` or ``'constant'``.
            Defaults to ``'sigmoid'``.
        steepness (float): Slope of the sigmoid ramp. Defaults to 10.
        end (float): Share of training at which beta reaches 1 (sigmoid) or
            jumps to 1 (step). Defaults to 1 (0.5 is usual for step).
        value (float): beta of the constant schedule. Defaults to 0.
    """

    priority = 'NORMAL'
    SCHEDULES = ('sigmoid', 'step', 'constant')

    def __init__(self,
                 schedule: str = 'sigmoid',
                 steepness: float = 10.0,
                 end: float = 1.0,
                 value: float = 0.0) -> None:
        if schedule not in self.SCHEDULES:
            raise ValueError(f'BetaScheduleHook: schedule must be one of '
                             f'{self.SCHEDULES}, got {schedule!r}')
        if not 0.0 < end <= 1.0:
            raise ValueError(f'BetaScheduleHook: end must be in (0, 1], got '
                             f'{end}')
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'BetaScheduleHook: value must be in [0, 1], '
                             f'got {value}')
        self.schedule = schedule
        self.steepness = steepness
        self.end = end
        self.value = value

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
        if self.schedule == 'constant':
            return self.value
        progress = iteration / max(1, max_iters - 1) / self.end
        if self.schedule == 'step':
            return 1.0 if progress >= 1.0 else 0.0
        return sigmoid_ramp(progress, self.steepness)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        beta = self.beta_at(runner.iter, runner.max_iters)
        for module in self._targets(runner):
            module.set_beta(beta)
        runner.message_hub.update_scalar('train/beta', beta)
