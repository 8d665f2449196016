# Copyright (c) rrgkit contributors. All rights reserved.
"""Choose decoding settings of a checkpoint on val, by a metric.

``python tools/analysis/choose_decoding.py CONFIG CHECKPOINT
--grid model.decode_cfg.no_repeat_ngram_size=0,2,3
[--grid model.decode_cfg.length_penalty=0,1] [--metric report/CIDEr-D]
--work-dir DIR [--out DIR/decoding.json] [--cfg-options ...]``

Runs ``tools/test.py`` on the val split once per combination of the grid
(each in ``DIR/trial<i>``, with the ``--cfg-options`` plus the trial's),
prints every score and writes the best combination (the first of equal
scores, so list the plain setting first) to ``--out``: ``options`` (the
``key=value`` list to test with), ``score`` and ``trials``. A benchmark
method's ``decode_grid`` runs this before its test (docs/decoding.md).
"""
import argparse
import json
import os.path as osp
import subprocess
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from rrgkit.apis.decoding_choice import (choose_best, grid_options,  # noqa
                                         parse_grid)
from rrgkit.apis.results import load_record  # noqa: E402
from rrgkit.utils.fileio import atomic_write_json  # noqa: E402
from rrgkit.utils.setup_env import run_cli  # noqa: E402

TEST = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'test.py')


class DecodingTrialError(RuntimeError):
    """A trial's test run failed."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Choose decoding settings on val')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--grid', action='append', required=True,
                        help='key=v1,v2,... (repeat for several keys)')
    parser.add_argument('--metric', default='report/CIDEr-D')
    parser.add_argument('--split', default='val', choices=['val'],
                        help='only val: the choice must not see test')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', help='default: WORK_DIR/decoding.json')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value for every trial')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        grid = parse_grid(args.grid)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    trials = grid_options(grid)
    count = iter(range(len(trials)))

    def score(options):
        trial = osp.join(args.work_dir, f'trial{next(count)}')
        record = osp.join(trial, 'record.json')
        cmd = [sys.executable, TEST, args.config, args.checkpoint, '--split',
               args.split, '--work-dir', trial, '--record', record,
               '--cfg-options', *args.cfg_options, *options]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ['?'])[-1]
            raise DecodingTrialError(
                f'tools/test.py failed for {options} (exit '
                f'{proc.returncode}): {tail}')
        metrics = load_record(record)['metrics']
        if args.metric not in metrics:
            raise DecodingTrialError(
                f'--metric {args.metric!r} is not among the scores '
                f'{sorted(metrics)}.')
        value = metrics[args.metric]
        print(f"{' '.join(options)}: {args.metric} {value:.4f}", flush=True)
        return value

    try:
        result = choose_best(trials, score)
    except DecodingTrialError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    result.update(metric=args.metric, split=args.split,
                  checkpoint=args.checkpoint)
    out = args.out or osp.join(args.work_dir, 'decoding.json')
    atomic_write_json(result, out)
    print(f"chosen on {args.split}: {' '.join(result['options'])} "
          f"({args.metric} {result['score']:.4f}); wrote {out}")
    return result


if __name__ == '__main__':
    run_cli(main)
