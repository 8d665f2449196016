# Copyright (c) rrgkit contributors. All rights reserved.
"""Train a report generator: ``python tools/train.py CONFIG [options]``."""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import rrgkit  # noqa: E402,F401 (safe checkpoint loading)
from rrgkit.registry import RUNNERS  # noqa: E402
from rrgkit.utils.setup_env import load_config, run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a report generator')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
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
    parser.add_argument(
        '--data-root', help='override every dataset data_root in the config')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Apply command-line options to the config (CLI > config > default)."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
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
        hooks = cfg.get('custom_hooks', [])
        cfg.custom_hooks = [
            h for h in hooks if h.get('type') not in (
                'MostFrequentReportHook', )
            and getattr(h.get('type'), '__name__', '') !=
            'MostFrequentReportHook'
        ]
        ckpt = cfg.default_hooks.get('checkpoint')
        if ckpt is not None:
            ckpt.pop('save_best', None)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    cfg = merge_args(cfg, args)
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    run_cli(main)
