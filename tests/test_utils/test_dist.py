# Copyright (c) rrgkit contributors. All rights reserved.
"""``setup_distributed``: the config changes of distributed runs."""
import pytest
import torch.distributed as torch_dist
from mmengine.config import Config

from rrgkit.utils import dist as rrgkit_dist
from rrgkit.utils.dist import setup_distributed


def _cfg(**kwargs):
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')),
                       **kwargs))


@pytest.fixture
def process_group(tmp_path):
    """A one-process gloo group, as a launcher would have started."""
    torch_dist.init_process_group('gloo', init_method=f'file://{tmp_path}/s',
                                  rank=0, world_size=1)
    yield
    torch_dist.destroy_process_group()


def test_one_process_changes_nothing():
    cfg = _cfg(launcher='none')
    assert setup_distributed(cfg) is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'runner_type' not in cfg and 'model_wrapper_cfg' not in cfg


def test_cpu_run_gets_gloo_and_a_ddp_wrapper_without_device_ids(
        process_group, monkeypatch):
    logged = []
    monkeypatch.setattr(rrgkit_dist, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    cfg = _cfg(launcher='pytorch', find_unused_parameters=True)
    assert setup_distributed(cfg) is True
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.runner_type == 'ReportRunner'
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', device_ids=None,
        broadcast_buffers=False, find_unused_parameters=True)
    assert "'nccl' needs a GPU; using 'gloo'" in logged[0]
    assert setup_distributed(cfg) is True  # idempotent


def test_user_runner_and_wrapper_are_kept(process_group):
    cfg = _cfg(launcher='pytorch', runner_type='FlexibleRunner',
               model_wrapper_cfg=dict(type='MyWrapper'))
    setup_distributed(cfg)
    assert cfg.runner_type == 'FlexibleRunner'
    assert cfg.model_wrapper_cfg == dict(type='MyWrapper')


def test_gpu_run_keeps_mmengines_defaults(monkeypatch):
    monkeypatch.setattr(rrgkit_dist, 'get_device', lambda: 'cuda')
    cfg = _cfg(launcher='pytorch')
    assert setup_distributed(cfg) is True
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert cfg.runner_type == 'ReportRunner'
    assert 'model_wrapper_cfg' not in cfg
    assert not torch_dist.is_initialized()  # left to mmengine's Runner
