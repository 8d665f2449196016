# Copyright (c) rrgkit contributors. All rights reserved.
"""Train a report generator: ``python tools/train.py CONFIG [options]``.

A pipeline config (one with ``stages``, e.g. ``configs/asgk_covctr.py``)
trains its stages in order; rerunning the command resumes it (see
:mod:`rrgkit.apis.pipeline`).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import rrgkit  # noqa: E402,F401 (safe checkpoint loading)
from rrgkit.apis.pipeline import is_pipeline, run_pipeline  # noqa: E402
from rrgkit.engine.runners import build_runner  # noqa: E402
from rrgkit.utils.setup_env import (add_common_args, load_config,  # noqa
                                    resolve_work_dir, run_cli, without_hook)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a report generator')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest '
        'checkpoint in the work dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (GPU only)')
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation')
    add_common_args(parser)
    return parser.parse_args(argv)


def merge_args(cfg, args):
    """Apply command-line options to the config (CLI > config > default)."""
    resolve_work_dir(cfg, args)
    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('error: --amp needs a CUDA GPU (mmengine\'s '
                             'AmpOptimWrapper); run without --amp on CPU.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.custom_hooks = without_hook(cfg, 'MostFrequentReportHook')
        cfg.default_hooks.get('checkpoint', {}).pop('save_best', None)
    return cfg


def _train_stage(args, config, work_dir, options, resume):
    """Train one stage of a pipeline with this tool's own options."""
    argv = [config, '--work-dir', work_dir, '--launcher', args.launcher]
    if resume:
        argv.append('--resume')
    if args.data_root:
        argv += ['--data-root', args.data_root]
    if args.no_validate:
        argv.append('--no-validate')
    if args.amp:
        argv.append('--amp')
    if options:
        argv += ['--cfg-options', *options]
    main(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    if is_pipeline(cfg):
        resolve_work_dir(cfg, args)
        options = [f'{k}={v}' for k, v in (args.cfg_options or {}).items()]
        run_pipeline(cfg, args.config, cfg.work_dir,
                     lambda *a: _train_stage(args, *a), options)
        return
    cfg = merge_args(cfg, args)
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    run_cli(main)
