# Copyright (c) rrgkit contributors. All rights reserved.
"""Check a config's datasets before training and list every problem.

``python tools/analysis/validate_dataset.py CONFIG [--data-root DIR]
[--split train val test] [--strict] [--no-images]``

Reads each annotation file and decodes every image (with a progress bar),
then prints a summary and all problems at once: unreadable or malformed
annotation, empty reports, duplicate ids, ids in two splits, missing and
undecodable images. Exit status: 0 when clean, 1 when there are errors (or,
with ``--strict``, warnings such as empty reports the config skips), 2 for a
bad command line or config.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from rrgkit.datasets.validation import validate_config  # noqa: E402
from rrgkit.utils.setup_env import load_config, run_cli  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Validate the datasets of a config before training')
    parser.add_argument('config', help='config file')
    parser.add_argument('--data-root', help="replace the config's data_root")
    parser.add_argument('--split', nargs='+', default=['train', 'val', 'test'],
                        help='dataloaders to check (default: all three)')
    parser.add_argument('--strict', action='store_true',
                        help='fail on warnings too')
    parser.add_argument('--no-images', action='store_true',
                        help='check the annotation only, not the images')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, data_root=args.data_root)
    reports, skipped = validate_config(cfg, args.split,
                                       check_images=not args.no_images,
                                       progress=not args.no_progress)
    for reason in skipped:
        print(f'skipped: {reason}')
    errors = warnings = 0
    for report in reports:
        print(report.summary())
        for problem in report.problems:
            print(f'  [{problem.severity}] {problem.kind}: {problem.message}')
        errors += len(report.errors)
        warnings += len(report.warnings)
    if errors or (args.strict and warnings):
        print(f'FAILED: {errors} error(s), {warnings} warning(s); fix them '
              'before training.')
        return 1
    print(f'OK: {errors} errors, {warnings} warning(s).')
    return 0


if __name__ == '__main__':
    run_cli(lambda: sys.exit(main()))
