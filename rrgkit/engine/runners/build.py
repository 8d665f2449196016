# Copyright (c) rrgkit contributors. All rights reserved.
"""Build the runner a config asks for."""
from typing import Union

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import FlexibleRunner, Runner

from rrgkit.registry import RUNNERS

__all__ = ['build_runner']


def build_runner(cfg: Config) -> Union[Runner, FlexibleRunner]:
    """``RUNNERS.build(cfg)`` if the config sets ``runner_type``, else
    ``Runner.from_cfg(cfg)`` (as mmengine's and mmpretrain's tools do).

    ``FlexibleRunner`` builds its strategy before it sets its
    ``default_scope``, so a strategy registered in rrgkit
    (``strategy=dict(type='ReportDDPStrategy')``) would be looked up in
    mmengine's registry only. The config's ``default_scope`` is therefore
    made current first (mmengine's ``init_default_scope``).

    Args:
        cfg (Config): The run's config.

    Returns:
        Runner or FlexibleRunner: The runner.
    """
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    if cfg.get('default_scope'):
        init_default_scope(cfg.default_scope)
    return RUNNERS.build(cfg)
