# Copyright (c) rrgkit contributors. All rights reserved.
"""Shared test fixtures."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def find_covctr_root() -> Path:
    """The real COV-CTR folder: $RRGKIT_COVCTR_ROOT or ../shared/data/covctr."""
    env = os.environ.get('RRGKIT_COVCTR_ROOT')
    if env:
        return Path(env)
    return (REPO / '..' / 'shared' / 'data' / 'covctr').resolve()


@pytest.fixture
def covctr_root() -> Path:
    """Path of the real COV-CTR data; skips the test where it is absent."""
    root = find_covctr_root()
    if not (root / 'annotation.json').is_file():
        pytest.skip(f'real COV-CTR data not found at {root} (a user machine '
                    'without ../shared/data); set RRGKIT_COVCTR_ROOT to run')
    return root


@pytest.fixture(autouse=True, scope='session')
def _single_thread_torch():
    """Tiny test models run faster on one thread than on two busy cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _run_forked_ranks(target, tmp_path, *args, world: int = 2) -> dict:
    """Run ``target(rank, init, queue, *args)`` in ``world`` forked processes.

    ``init`` is a file-store URL in ``tmp_path`` for
    ``init_process_group``; every rank puts ``(rank, result)`` on ``queue``.
    Returns ``{rank: result}``.
    """
    import multiprocessing as mp
    ctx = mp.get_context('fork')
    queue = ctx.Queue()
    init = f'file://{tmp_path}/store'
    procs = [ctx.Process(target=target, args=(r, init, queue, *args))
             for r in range(world)]
    for proc in procs:
        proc.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(30)
    return results


@pytest.fixture
def run_forked_ranks():
    """:func:`_run_forked_ranks`, for tests of distributed pieces."""
    return _run_forked_ranks
