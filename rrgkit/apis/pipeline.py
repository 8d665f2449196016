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
import re
from typing import Callable, Dict, List, Optional

import torch
from mmengine.config import Config

from rrgkit.utils.checkpoint import CheckpointError, safe_load_checkpoint
from rrgkit.utils.fileio import atomic_write, atomic_write_json

__all__ = ['is_pipeline', 'stage_checkpoint', 'merge_stage_weights',
           'stage_options', 'run_pipeline']

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


def _checkpoint_order(work_dir: str, name: str) -> tuple:
    number = re.search(r'(\d+)\.pth$', name)
    return (int(number.group(1)) if number else -1,
            osp.getmtime(osp.join(work_dir, name)))


def _final_checkpoint(work_dir: str) -> str:
    # Normally one best_*.pth; after a crash between saving a new best and
    # deleting the old one there are two: the later epoch/iteration wins
    # (not the later name: 'epoch_10' sorts before 'epoch_8').
    best = sorted((p for p in os.listdir(work_dir)
                   if p.startswith('best_') and p.endswith('.pth')),
                  key=lambda p: _checkpoint_order(work_dir, p))
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


def _has_parent(cfg: Config, key: str) -> bool:
    node = cfg
    for part in key.split('.')[:-1]:
        if isinstance(node, (list, tuple)) and part.isdigit():
            if int(part) >= len(node):
                return False
            node = node[int(part)]
        elif hasattr(node, 'get') and part in node:
            node = node[part]
        else:
            return False
    return True


def stage_options(options: List[str], stage_cfgs: Dict[str, Config]
                  ) -> Dict[str, List[str]]:
    """Which command-line ``key=value`` options go to which stage.

    An option goes to every stage whose config has the key's parent (so
    ``model.decoder.embed_dims=256`` reaches the stages with a decoder and
    not a stage that trains an image classifier; ``randomness.seed=1`` or
    ``load_from=...`` reach all). ``cached_features.*`` options go to every
    stage with a ``train_dataloader``.

    Args:
        options (list[str]): ``key=value`` strings.
        stage_cfgs (dict): Stage name -> its loaded config.

    Returns:
        dict: Stage name -> the options it gets, in the given order.

    Raises:
        ValueError: An option whose key fits no stage (a typo would
            otherwise be silently ignored).
    """
    out: Dict[str, List[str]] = {name: [] for name in stage_cfgs}
    for option in options:
        key = option.split('=', 1)[0]
        if key.startswith('cached_features.'):
            # The switch to cached features (rrgkit.utils.cached_features_cfg)
            # goes to every stage that trains on a dataset.
            fits = [n for n, c in stage_cfgs.items()
                    if c.get('train_dataloader')]
        else:
            fits = [n for n, c in stage_cfgs.items() if _has_parent(c, key)]
        if not fits:
            raise ValueError(
                f'--cfg-options {option!r}: no stage of this pipeline has '
                f'{key.rsplit(".", 1)[0]!r} (stages: {list(stage_cfgs)}). '
                'Check the key, or set it in one stage\'s cfg_options.')
        for name in fits:
            out[name].append(option)
    return out


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
        cfg_options (list[str], optional): ``key=value`` overrides, each
            passed to the stages whose config has its parent key (see
            :func:`stage_options`).
    """
    finished: Dict[str, str] = {}
    names = [stage['name'] for stage in cfg.stages]
    here = osp.dirname(osp.abspath(config_path))
    per_stage = stage_options(list(cfg_options or []), {
        stage['name']: Config.fromfile(osp.join(here, stage['config']))
        for stage in cfg.stages} if cfg_options else {
            stage['name']: None for stage in cfg.stages})
    for stage in cfg.stages:
        name = stage['name']
        stage_cfg = osp.join(here, stage['config'])
        stage_dir = osp.join(work_dir, name)
        done = stage_checkpoint(stage_dir)
        if done is not None:
            print(f'[pipeline] stage {name!r} already finished: {done}')
            finished[name] = done
            continue
        options = per_stage[name] + list(stage.get('cfg_options', []))
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
