# Copyright (c) rrgkit contributors. All rights reserved.
"""Multi-stage training: each stage starts from the previous stages' weights.

A pipeline config lists its stages instead of a model::

    stages = [
        dict(name='textbook', config='asgk/stage1_textbook.py'),
        dict(name='visual', config='asgk/stage2_densenets.py'),
        dict(name='full', config='asgk/stage3_full.py',
             init_from=['visual', 'textbook']),
    ]

``tools/train.py PIPELINE_CONFIG`` trains the stages in order, each in
``<work_dir>/<name>``; a stage may add its own ``cfg_options`` (a list of
``key=value``). A stage that finished (``stage_done.json``) is
skipped, an interrupted one is resumed from its latest checkpoint, so the
same command continues a pipeline stopped midway. ``init_from`` merges the
final weights of earlier stages (their union; a key found in two stages
must agree in shape) into ``<stage work_dir>/init_from.pth`` and uses it as
the stage's ``load_from``.
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional

import torch
from mmengine.config import Config

from rrgkit.utils.checkpoint import CheckpointError, safe_load_checkpoint
from rrgkit.utils.fileio import atomic_write, atomic_write_json

__all__ = ['is_pipeline', 'stage_checkpoint', 'merge_stage_weights',
           'run_pipeline']

DONE_FILE = 'stage_done.json'


def is_pipeline(cfg: Config) -> bool:
    """Whether ``cfg`` is a multi-stage pipeline config."""
    return bool(cfg.get('stages'))


def stage_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a finished stage hands on (best on val, else last)."""
    done = osp.join(work_dir, DONE_FILE)
    if osp.isfile(done):
        with open(done, encoding='utf-8') as f:
            return json.load(f)['checkpoint']
    return None


def _final_checkpoint(work_dir: str) -> str:
    best = sorted(p for p in os.listdir(work_dir)
                  if p.startswith('best_') and p.endswith('.pth'))
    if best:
        return osp.join(work_dir, best[-1])
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last, encoding='utf-8') as f:
            return f.read().strip()
    raise CheckpointError(f'Stage folder {work_dir} holds no checkpoint.')


def merge_stage_weights(sources: List[str], out_path: str) -> str:
    """Union of the ``state_dict`` of several checkpoints, written atomically.

    Args:
        sources (list[str]): Checkpoint files, in priority order.
        out_path (str): The merged checkpoint.

    Returns:
        str: ``out_path``.
    """
    merged: Dict[str, torch.Tensor] = {}
    origin: Dict[str, str] = {}
    for path in sources:
        state = safe_load_checkpoint(path, map_location='cpu')
        for key, value in state.get('state_dict', state).items():
            if key in merged:
                same = (not isinstance(value, torch.Tensor)
                        or merged[key].shape == value.shape)
                if not same:
                    raise CheckpointError(
                        f'{key} has shape {tuple(value.shape)} in {path} but '
                        f'{tuple(merged[key].shape)} in {origin[key]}; the '
                        'stages were trained with different architectures.')
                continue
            merged[key] = value
            origin[key] = path
    checkpoint = dict(state_dict=merged,
                      meta=dict(rrgkit=dict(merged_from=list(sources))))
    return atomic_write(out_path, lambda f: torch.save(checkpoint, f))


def run_pipeline(cfg: Config, config_path: str, work_dir: str,
                 train_stage: Callable[[str, str, List[str], bool], None],
                 cfg_options: Optional[List[str]] = None) -> None:
    """Train every stage of a pipeline config in order.

    Args:
        cfg (Config): The pipeline config (with ``stages``).
        config_path (str): Its path; stage configs are relative to it.
        work_dir (str): The pipeline's work dir.
        train_stage (Callable): ``(config, work_dir, cfg_options, resume)``
            trains one stage (``tools/train.py`` passes its own main).
        cfg_options (list[str], optional): ``key=value`` overrides passed
            to every stage.
    """
    finished: Dict[str, str] = {}
    names = [stage['name'] for stage in cfg.stages]
    for stage in cfg.stages:
        name = stage['name']
        stage_cfg = osp.join(osp.dirname(osp.abspath(config_path)),
                             stage['config'])
        stage_dir = osp.join(work_dir, name)
        done = stage_checkpoint(stage_dir)
        if done is not None:
            print(f'[pipeline] stage {name!r} already finished: {done}')
            finished[name] = done
            continue
        options = list(cfg_options or []) + list(stage.get('cfg_options', []))
        sources = list(stage.get('init_from', []))
        unknown = [s for s in sources if s not in finished]
        if unknown:
            raise ValueError(f'Stage {name!r} starts from {unknown}, which '
                             f'are not earlier stages (order: {names}).')
        resume = osp.isfile(osp.join(stage_dir, 'last_checkpoint'))
        if sources and not resume:
            os.makedirs(stage_dir, exist_ok=True)
            merged = merge_stage_weights([finished[s] for s in sources],
                                         osp.join(stage_dir, 'init_from.pth'))
            options.append(f'load_from={merged}')
        print(f'[pipeline] stage {name!r}: {stage_cfg} -> {stage_dir}'
              + (' (resuming)' if resume else ''))
        train_stage(stage_cfg, stage_dir, options, resume)
        checkpoint = _final_checkpoint(stage_dir)
        atomic_write_json(dict(stage=name, checkpoint=checkpoint),
                          osp.join(stage_dir, DONE_FILE))
        finished[name] = checkpoint
