# Copyright (c) rrgkit contributors. All rights reserved.
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub

from rrgkit.engine.hooks import BetaScheduleHook
from rrgkit.models.region_proposers import AASProposer


def _runner(model, max_iters=11):
    hub = MessageHub.get_instance('beta-hook-test')
    return SimpleNamespace(model=model, iter=0, max_iters=max_iters,
                           message_hub=hub)


def test_beta_rises_from_zero_to_one_over_training():
    aas = AASProposer(in_channels=4, num_classes=2)
    runner = _runner(nn.Sequential(nn.Linear(2, 2), aas))
    hook = BetaScheduleHook()
    hook.before_train(runner)
    betas = []
    for it in range(runner.max_iters):
        runner.iter = it
        hook.before_train_iter(runner, it)
        betas.append(aas.beta)
    assert betas[0] == 0.0 and betas[-1] == pytest.approx(1.0)
    assert betas[5] == pytest.approx(0.5)
    assert all(a < b for a, b in zip(betas, betas[1:]))
    assert runner.message_hub.get_scalar('train/beta').current() == \
        pytest.approx(1.0)


def test_end_reaches_one_early_and_model_without_target_is_refused():
    hook = BetaScheduleHook(end=0.5)
    assert hook.beta_at(50, 101) == pytest.approx(1.0)
    assert hook.beta_at(100, 101) == pytest.approx(1.0)
    with pytest.raises(ValueError, match='set_beta'):
        hook.before_train(_runner(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match='end'):
        BetaScheduleHook(end=0)


def test_constant_and_step_schedules():
    constant = BetaScheduleHook(schedule='constant', value=0.0)
    assert {constant.beta_at(i, 10) for i in range(10)} == {0.0}
    step = BetaScheduleHook(schedule='step', end=0.5)
    assert [step.beta_at(i, 11) for i in range(11)] == [0.0] * 5 + [1.0] * 6
    with pytest.raises(ValueError, match="'sigmoid', 'step', 'constant'"):
        BetaScheduleHook(schedule='cosine')
