# Copyright (c) rrgkit contributors. All rights reserved.
"""rrgkit's FlexibleRunner strategies: registry, CPU wrappers, config.

Training with them on two processes is tested in
tests/test_tools/test_flexible_runner.py.
"""
import importlib.util

import pytest
import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine._strategy import DDPStrategy, FSDPStrategy
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import DefaultScope

from rrgkit.engine.strategies import (ReportDDPStrategy,
                                      ReportDeepSpeedStrategy,
                                      ReportFSDPStrategy)
from rrgkit.engine.strategies import report_strategies
from rrgkit.engine.strategies.report_strategies import cpu_wrapper_cfg
from rrgkit.registry import STRATEGIES
from rrgkit.utils import dist as rrgkit_dist
from rrgkit.utils.config_check import check_config_types
from rrgkit.utils.dist import setup_distributed


@pytest.fixture
def process_group(tmp_path, monkeypatch):
    """A one-process gloo group, as torchrun would have started."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    torch_dist.init_process_group('gloo', init_method=f'file://{tmp_path}/s',
                                  rank=0, world_size=1)
    yield
    torch_dist.destroy_process_group()


class _WithVocab(nn.Module):
    """A layer plus non-tensor extra state, like ReportGenerator's vocab."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def get_extra_state(self):
        return {'tokens': ['a', 'b']}

    def set_extra_state(self, state):
        pass


def test_strategies_resolve_under_the_rrgkit_scope():
    assert STRATEGIES.get('ReportDDPStrategy') is ReportDDPStrategy
    assert STRATEGIES.get('ReportFSDPStrategy') is ReportFSDPStrategy
    assert STRATEGIES.get('ReportDeepSpeedStrategy') is \
        ReportDeepSpeedStrategy
    assert STRATEGIES.get('FSDPStrategy') is FSDPStrategy  # mmengine's
    assert issubclass(ReportFSDPStrategy, FSDPStrategy)
    assert issubclass(ReportDDPStrategy, DDPStrategy)
    # FlexibleRunner builds its strategy with mmengine's root registry, which
    # finds rrgkit's names only under the rrgkit scope (build_runner's job).
    assert MMENGINE_STRATEGIES.get('ReportFSDPStrategy') is None
    with DefaultScope.overwrite_default_scope('rrgkit'):
        with MMENGINE_STRATEGIES.switch_scope_and_registry(None) as reg:
            assert reg.get('ReportFSDPStrategy') is ReportFSDPStrategy
    check_config_types(Config(dict(
        runner_type='FlexibleRunner',
        strategy=dict(type='ReportFSDPStrategy'))))
    check_config_types(Config(dict(strategy=dict(type='FSDPStrategy'))))


def test_cpu_wrapper_cfg(monkeypatch):
    ddp = dict(type='MMDistributedDataParallel', broadcast_buffers=False)
    assert cpu_wrapper_cfg(None, ddp, device_ids=None) == dict(
        ddp, device_ids=None)
    mine = dict(type='MMDistributedDataParallel', device_ids=[0],
                find_unused_parameters=True)
    assert cpu_wrapper_cfg(mine, ddp, device_ids=None) == mine  # kept
    assert 'device_ids' not in ddp  # not changed in place
    monkeypatch.setattr(report_strategies, 'get_device', lambda: 'cuda')
    assert cpu_wrapper_cfg(None, ddp, device_ids=None) is None


def test_ddp_strategy_wraps_a_cpu_model_and_saves_plain_keys(
        process_group, tmp_path):
    strategy = ReportDDPStrategy(work_dir=str(tmp_path))
    model = strategy._init_model_weights(_WithVocab())
    strategy.model = strategy._wrap_model(model)
    assert isinstance(strategy.model, MMDistributedDataParallel)
    assert strategy.model.device_ids is None
    assert not strategy.model.broadcast_buffers
    state = strategy.model_state_dict()
    assert set(state) == {'linear.weight', 'linear.bias', '_extra_state'}
    assert state['_extra_state'] == {'tokens': ['a', 'b']}


def test_fsdp_strategy_wraps_a_cpu_model(process_group, tmp_path):
    strategy = ReportFSDPStrategy(work_dir=str(tmp_path),
                                  state_dict_cfg='full')
    strategy.model = strategy._wrap_model(nn.Linear(2, 3))
    assert strategy.model.compute_device == torch.device('cpu')
    state = strategy.model_state_dict()
    assert state['weight'].shape == (3, 2)


def test_deepspeed_strategy_needs_deepspeed_only_to_build(tmp_path):
    if _has_deepspeed():
        pytest.skip('deepspeed is installed')
    with pytest.raises(AssertionError, match='DeepSpeed is not installed'):
        ReportDeepSpeedStrategy(work_dir=str(tmp_path))


def _has_deepspeed():
    return importlib.util.find_spec('deepspeed') is not None


def test_flexible_runner_keeps_its_strategy_and_gets_gloo(
        process_group, monkeypatch):
    monkeypatch.setattr(rrgkit_dist, 'print_log', lambda *a, **k: None)
    cfg = Config(dict(
        launcher='pytorch', runner_type='FlexibleRunner',
        env_cfg=dict(dist_cfg=dict(backend='nccl')),
        strategy=dict(type='ReportFSDPStrategy',
                      env_kwargs=dict(dist_cfg=dict(backend='nccl')))))
    assert setup_distributed(cfg) is True
    assert cfg.runner_type == 'FlexibleRunner'
    assert cfg.strategy.type == 'ReportFSDPStrategy'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.strategy.env_kwargs.dist_cfg.backend == 'gloo'
    assert 'model_wrapper_cfg' not in cfg  # FlexibleRunner ignores it


def test_flexible_runner_without_strategy_gets_report_ddp(
        process_group, monkeypatch):
    monkeypatch.setattr(rrgkit_dist, 'print_log', lambda *a, **k: None)
    cfg = Config(dict(launcher='pytorch', runner_type='FlexibleRunner'))
    setup_distributed(cfg)
    assert cfg.strategy == dict(type='ReportDDPStrategy')
