# Copyright (c) rrgkit contributors. All rights reserved.
"""Helpers of the benchmark scripts in ``tools/analysis/``.

They run mmengine's training iteration outside ``Runner.train()`` so that a
benchmark can time it step by step, interleaved with another loop.
"""
import statistics
import time
from typing import Callable, Dict, List, Sequence

import torch
from mmengine.runner import IterBasedTrainLoop, Runner
from torch import nn

__all__ = [
    'prepare_train', 'run_train_iter', 'clone_optimizer', 'interleaved_times',
    'median'
]


def prepare_train(runner: Runner) -> None:
    """Do what ``Runner.train()`` does before its loop's first iteration.

    Mirrors mmengine 0.10.7: build the train loop, optimizer wrapper and
    parameter schedulers, call the ``before_run`` hooks, initialise the
    weights, load or resume, then the loop's ``before_train`` and
    ``before_train_epoch`` hooks, and put the model in training mode. The
    validation loop is not built and ``compile`` is not applied.

    Args:
        runner (Runner): A runner built from a config with a train loop.
    """
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
    if runner.param_schedulers is not None:
        runner.param_schedulers = runner.build_param_scheduler(
            runner.param_schedulers)
    runner.call_hook('before_run')
    runner._init_model_weights()
    runner.load_or_resume()
    loop = runner.train_loop
    runner.optim_wrapper.initialize_count_status(runner.model, loop.iter,
                                                 loop.max_iters)
    runner.call_hook('before_train')
    runner.call_hook('before_train_epoch')
    runner.model.train()


def run_train_iter(runner: Runner, data_batch, idx: int) -> None:
    """One iteration of the runner's train loop (hooks + ``train_step``).

    Args:
        runner (Runner): Prepared with :func:`prepare_train`.
        data_batch: A batch as the train dataloader yields it.
        idx (int): The batch index within the epoch (epoch-based loops).
    """
    loop = runner.train_loop
    if isinstance(loop, IterBasedTrainLoop):
        loop.run_iter(data_batch)
    else:
        loop.run_iter(idx, data_batch)


def clone_optimizer(optimizer: torch.optim.Optimizer, source: nn.Module,
                    target: nn.Module) -> torch.optim.Optimizer:
    """A fresh optimizer for ``target`` with ``optimizer``'s settings.

    Parameters are matched by name, so per-group settings (e.g. from a
    ``paramwise_cfg``) carry over; the state (moments, step counts) does
    not.

    Args:
        optimizer (Optimizer): The optimizer of ``source``.
        source (nn.Module): The model ``optimizer`` updates.
        target (nn.Module): A copy of ``source`` (same parameter names).

    Returns:
        Optimizer: Same class and groups, over ``target``'s parameters.
    """
    names = {id(p): n for n, p in source.named_parameters()}
    params = dict(target.named_parameters())
    groups = []
    for group in optimizer.param_groups:
        new = {k: v for k, v in group.items() if k != 'params'}
        new['params'] = [params[names[id(p)]] for p in group['params']]
        groups.append(new)
    return type(optimizer)(groups, **optimizer.defaults)


def interleaved_times(fns: Dict[str, Callable[[], object]], steps: int,
                      repeats: int) -> Dict[str, List[float]]:
    """Time each function ``steps`` times per block, blocks interleaved.

    Every repeat runs one block per function; the order of the blocks is
    reversed on every other repeat, so slow drifts of the machine (other
    jobs, clock changes) hit all functions alike.

    Args:
        fns (dict[str, Callable]): Named functions without arguments.
        steps (int): Calls per block.
        repeats (int): Blocks per function.

    Returns:
        dict[str, list[float]]: Seconds of every call, per name.
    """
    times: Dict[str, List[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            fn = fns[name]
            for _ in range(steps):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))
