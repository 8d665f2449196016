# Copyright (c) rrgkit contributors. All rights reserved.
"""Distributed runs (``--launcher pytorch|slurm|mpi``) with mmengine.

:func:`setup_distributed` prepares the config of every distributed run:

* ``runner_type`` becomes :class:`~rrgkit.engine.ReportRunner` (unless the
  config sets one): mmengine's Runner broadcasts every ``state_dict`` value
  after ``init_weights`` and fails on the vocabulary a ReportGenerator keeps
  in its state dict.
* With ``runner_type='FlexibleRunner'`` the config's ``strategy`` is kept;
  without one it becomes :class:`~rrgkit.engine.ReportDDPStrategy` (mmengine
  would pick ``DDPStrategy``, which has the same broadcast).

mmengine 0.10.7 also assumes a GPU per process: ``mmengine.dist.init_dist``
calls ``torch.cuda.set_device(local_rank)`` before ``init_process_group``
("Found no NVIDIA driver"), the default ``dist_cfg`` backend is ``'nccl'``
(GPU only), and ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to
``DistributedDataParallel``, which a CPU module refuses. So where mmengine's
device is the CPU it also

* switches the backend to ``'gloo'`` (logged),
* initialises the process group itself, through mmengine's ``init_dist``
  (so the launcher's environment handling is mmengine's) with
  ``torch.cuda.set_device`` skipped, and
* sets ``model_wrapper_cfg`` to mmengine's DDP wrapper without
  ``device_ids``, with the same other arguments mmengine uses by default
  (``Runner`` only: a ``FlexibleRunner`` strategy builds its own wrapper,
  and rrgkit's strategies leave out the GPU index on CPU themselves; a
  strategy's own ``env_kwargs.dist_cfg`` also gets ``'gloo'``).

On GPU (or NPU/MLU) machines mmengine initialises ``nccl`` (or the
configured backend) and wraps the model as usual.
"""
from contextlib import contextmanager
from typing import Iterator
from unittest import mock

from mmengine.config import Config
from mmengine.device import get_device
from mmengine.dist import get_rank, init_dist, is_distributed
from mmengine.logging import print_log

__all__ = ['setup_distributed', 'CPU_BACKEND']

CPU_BACKEND = 'gloo'


@contextmanager
def _without_cuda_set_device() -> Iterator[None]:
    """Make ``torch.cuda.set_device`` a no-op (there is no GPU to pick)."""
    with mock.patch('torch.cuda.set_device', lambda device: None):
        yield


def setup_distributed(cfg: Config) -> bool:
    """Prepare a distributed run's config; do nothing for one process.

    Call it after ``cfg.launcher`` is set and before the Runner is built.
    It is idempotent: a process group that already exists is kept.

    Args:
        cfg (Config): The run's config, changed in place (``runner_type``
            or, for ``FlexibleRunner``, ``strategy``; on CPU also
            ``env_cfg.dist_cfg.backend`` and ``model_wrapper_cfg``).

    Returns:
        bool: True for a distributed run, False for one process.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none':
        return False
    if 'runner_type' not in cfg:
        cfg.runner_type = 'ReportRunner'
    if _is_flexible(cfg) and cfg.get('strategy') is None:
        cfg.strategy = dict(type='ReportDDPStrategy')
    if get_device() == 'cpu':
        _setup_cpu(cfg, launcher)
    return True


def _is_flexible(cfg: Config) -> bool:
    runner_type = cfg.get('runner_type')
    name = getattr(runner_type, '__name__', runner_type)
    return isinstance(name, str) and name.split('.')[-1] == 'FlexibleRunner'


def _setup_cpu(cfg: Config, launcher: str) -> None:
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    backend = dist_cfg.get('backend', 'nccl')
    dist_cfg['backend'] = CPU_BACKEND
    strategy_env = (cfg.get('strategy') or {}).get('env_kwargs') or {}
    if strategy_env.get('dist_cfg') is not None:
        strategy_env['dist_cfg']['backend'] = CPU_BACKEND
    if not is_distributed():
        with _without_cuda_set_device():
            init_dist(launcher, **dist_cfg)
    if get_rank() == 0:
        note = (f"'{backend}' needs a GPU; using '{CPU_BACKEND}'"
                if backend != CPU_BACKEND else f"'{CPU_BACKEND}'")
        print_log(
            f'rrgkit: no GPU found: distributed run on CPU '
            f'(launcher={launcher!r}, backend {note}).',
            logger='current')
    if cfg.get('model_wrapper_cfg') is None and not _is_flexible(cfg):
        # mmengine's default DDP wrapper, minus device_ids (CPU modules).
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
