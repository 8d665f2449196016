# Copyright (c) rrgkit contributors. All rights reserved.
"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``.

Writes, next to mmengine's metrics log in ``<work_dir>/<timestamp>/``:
``metrics.json`` (scores plus how they were computed) and
``generated_reports.json`` (one record per image: id, generated, reference).
The vocabulary comes from the checkpoint, never from re-reading the data.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.dist import is_main_process  # noqa: E402

import rrgkit  # noqa: E402,F401 (safe checkpoint loading)
from rrgkit.apis import use_checkpoint_vocabulary  # noqa: E402
from rrgkit.apis.model_from_checkpoint import generator_config  # noqa: E402
from rrgkit.apis.results import (make_record, run_signature,  # noqa: E402
                                 write_record)
from rrgkit.engine.runners import build_runner  # noqa: E402
from rrgkit.utils.fileio import atomic_write_json  # noqa: E402
from rrgkit.utils.setup_env import (add_common_args, load_config,  # noqa
                                    resolve_work_dir, run_cli, without_hook)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--split',
        choices=['test', 'val'],
        default='test',
        help='evaluate the test split (default) or the val split')
    parser.add_argument(
        '--out', help='also write the generated reports to this JSON file')
    parser.add_argument(
        '--record',
        help='also write a result record (scores, signature, config, '
        'checkpoint, this command) to this JSON file, e.g. under '
        'docs/results/ for tools/gen_docs_tables.py')
    add_common_args(parser)
    return parser.parse_args(argv)


def _report_metrics(evaluator_cfg):
    cfgs = evaluator_cfg if isinstance(evaluator_cfg, list) else [
        evaluator_cfg
    ]
    return [m for m in cfgs if 'ReportMetric' in str(m.get('type'))]


def merge_args(cfg, args):
    """Apply command-line options to the config."""
    resolve_work_dir(cfg, args)
    if args.split == 'val':
        cfg.test_dataloader = cfg.val_dataloader
        cfg.test_evaluator = cfg.val_evaluator
    for metric in _report_metrics(cfg.test_evaluator):
        metric['save_records'] = True
    cfg.load_from = args.checkpoint
    cfg.resume = False
    # A training wrapper (SCST) is tested as the generator it trains.
    cfg.model = generator_config(cfg.model)
    # A training-only hook: it needs the training split.
    cfg.custom_hooks = without_hook(cfg, 'MostFrequentReportHook')
    return cfg


def write_results(runner, metrics, args):
    """Write metrics.json and generated_reports.json in the log dir."""
    metric_objs = [
        m for m in runner.test_loop.evaluator.metrics
        if hasattr(m, 'last_records')
    ]
    records = metric_objs[0].last_records if metric_objs else []
    signature = dict(getattr(metric_objs[0], 'last_signature', {})) \
        if metric_objs else {}
    signature.update(run_signature(runner))
    summary = dict(
        config=osp.abspath(args.config),
        checkpoint=osp.abspath(args.checkpoint),
        split=args.split,
        metrics=metrics,
        signature=signature)
    paths = [osp.join(runner.log_dir, 'generated_reports.json')]
    if args.out:
        paths.append(args.out)
    for path in paths:
        atomic_write_json(records, path)
    atomic_write_json(summary, osp.join(runner.log_dir, 'metrics.json'))
    if args.record:
        argv = ['python', 'tools/test.py'] + list(
            args.argv if args.argv is not None else sys.argv[1:])
        write_record(make_record(summary, argv), args.record)
        runner.logger.info(f'Result record written to {args.record}')
    runner.logger.info(f'Generated reports written to {", ".join(paths)}')


def main(argv=None):
    args = parse_args(argv)
    args.argv = argv
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    if cfg.get('stages'):
        last = cfg.stages[-1]['config']
        raise SystemExit(
            f'error: {args.config} is a multi-stage pipeline; evaluate with '
            f'the config of its last stage ({last!r}, next to it) and that '
            "stage's checkpoint (see <work_dir>/<stage>/stage_done.json).")
    cfg = merge_args(cfg, args)
    if cfg.model.get('tokenizer') is not None:
        use_checkpoint_vocabulary(cfg, args.checkpoint, cfg.work_dir)
    runner = build_runner(cfg)
    metrics = runner.test()
    if is_main_process():
        write_results(runner, metrics, args)


if __name__ == '__main__':
    run_cli(main)
