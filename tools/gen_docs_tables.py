# Copyright (c) rrgkit contributors. All rights reserved.
"""Regenerate the results tables in docs/ from recorded results.

``python tools/gen_docs_tables.py`` rewrites every table listed in
``docs/results/tables.json`` from the records next to it (written by
``tools/test.py ... --record docs/results/<...>.json``). ``--check`` changes
nothing and exits 1 when a document is out of date with its records.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from rrgkit.apis.docs_tables import generate_tables  # noqa: E402
from rrgkit.apis.results import RecordError, repo_root  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--specs',
        default=osp.join(repo_root(), 'docs', 'results', 'tables.json'),
        help='table spec file (default: docs/results/tables.json)')
    parser.add_argument(
        '--check', action='store_true',
        help='only check that the docs are up to date (exit 1 if not)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        changed = generate_tables(args.specs, repo_root(), check=args.check)
    except RecordError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if args.check:
        if changed:
            print('out of date with the recorded results: '
                  + ', '.join(changed)
                  + ' (run python tools/gen_docs_tables.py)')
            return 1
        print('docs tables are up to date')
        return 0
    print('rewrote ' + ', '.join(changed) if changed else 'nothing to change')
    return 0


if __name__ == '__main__':
    sys.exit(main())
