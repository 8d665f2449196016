# Copyright (c) rrgkit contributors. All rights reserved.
"""Plot loss and metric curves of one or several runs as one PNG.

``python tools/analysis/plot_curves.py RUN [RUN ...] [--keys loss
report/CIDEr-D] [--names A B] [--out curves.png]``

A run is the work dir given to ``tools/train.py`` (its
``<timestamp>/vis_data/scalars.json`` logs are read in timestamp order, so a
resumed run continues its curves) or one ``scalars.json`` file. mmengine
writes one JSON object per line: training rows carry ``iter`` (and ``lr``,
``loss*``), validation rows carry the metrics (``report/CIDEr-D`` ...) and
``step``, the epoch (the iteration for iteration-based training loops).

One subplot per key, one line per run (legend = run name); the x axis is
the iteration for keys logged during training and the epoch for keys logged
by validation. The default keys are every ``loss*`` key and
``report/CIDEr-D``.
"""
import argparse
import glob
import json
import math
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = [
    'CurveLogError', 'find_scalars', 'load_rows', 'split_curves',
    'default_keys', 'plot_curves', 'main'
]

DEFAULT_METRIC = 'report/CIDEr-D'
# One subplot's size in inches; at ``dpi`` it is (500, 350) pixels by default.
PANEL_SIZE = (5.0, 3.5)

Curve = Tuple[List[float], List[float]]


class CurveLogError(ValueError):
    """A run's logs are missing or unreadable, or a key is in no run."""


def find_scalars(run: str) -> List[str]:
    """The ``scalars.json`` files of a run, oldest first.

    Args:
        run (str): A work dir (``<run>/<timestamp>/vis_data/scalars.json``)
            or a ``scalars.json`` file.

    Returns:
        list[str]: The files, in timestamp (folder name) order.

    Raises:
        CurveLogError: If ``run`` does not exist or holds no log.
    """
    if osp.isfile(run):
        return [run]
    if not osp.isdir(run):
        raise CurveLogError(f'run {run!r} does not exist; pass a work dir '
                            'of tools/train.py or a scalars.json file.')
    files = sorted(glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise CurveLogError(
            f'run {run!r} has no scalars.json (looked for '
            f'{osp.join(run, "<timestamp>", "vis_data", "scalars.json")}); '
            'pass the --work-dir given to tools/train.py, or the file.')
    return files


def load_rows(path: str) -> List[dict]:
    """Read one ``scalars.json`` (one JSON object per line)."""
    rows = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise CurveLogError(f'{path}, line {number}: not JSON '
                                    f'({err.msg}).') from err
            if not isinstance(row, dict):
                raise CurveLogError(f'{path}, line {number}: expected a JSON '
                                    f'object, got {type(row).__name__}.')
            rows.append(row)
    return rows


def _is_train_row(row: dict) -> bool:
    return 'iter' in row or 'lr' in row


def split_curves(rows: Sequence[dict]) -> Dict[str, Tuple[str, Curve]]:
    """Curves of every numeric key of a run's rows.

    A key logged in training rows is plotted against ``iter`` (``step``
    when absent); any other key against the validation rows' ``step`` (the
    epoch; the iteration when the training rows have no ``epoch``). When
    an x value repeats (a run resumed from an earlier checkpoint), the
    later value wins.

    Args:
        rows (Sequence[dict]): Log rows in the order they were written.

    Returns:
        dict: ``key -> (axis, (xs, ys))`` with ``axis`` ``'iteration'`` or
        ``'epoch'`` and ``xs`` increasing.
    """
    points: Dict[Tuple[str, str], Dict[float, float]] = OrderedDict()
    train_rows = [row for row in rows if _is_train_row(row)]
    train_keys = set().union(*train_rows)
    # Iteration-based loops log no epoch; their validation step is the
    # iteration.
    by_epoch = not train_rows or any('epoch' in row for row in train_rows)
    val_axis = 'epoch' if by_epoch else 'iteration'
    skip = {'iter', 'step', 'epoch'}
    for row in rows:
        train = _is_train_row(row)
        x = row.get('iter', row.get('step')) if train else row.get('step')
        if not isinstance(x, (int, float)):
            continue
        for key, value in row.items():
            if key in skip or not isinstance(value, (int, float)) \
                    or isinstance(value, bool) or train != (key in train_keys):
                continue
            axis = 'iteration' if train else val_axis
            points.setdefault((key, axis), {})[x] = float(value)
    curves = {}
    for (key, axis), xy in points.items():
        xs = sorted(xy)
        curves[key] = (axis, (xs, [xy[x] for x in xs]))
    return curves


def default_keys(available: Sequence[str]) -> List[str]:
    """Every ``loss*`` key (``loss`` first) and ``report/CIDEr-D``."""
    losses = sorted((k for k in available if k.startswith('loss')),
                    key=lambda k: (k != 'loss', k))
    metric = [DEFAULT_METRIC] if DEFAULT_METRIC in available else []
    return losses + metric


def _run_names(runs: Sequence[str],
               names: Optional[Sequence[str]]) -> List[str]:
    if names:
        if len(names) != len(runs):
            raise CurveLogError(f'{len(names)} --names for {len(runs)} runs; '
                                'give one name per run.')
        return list(names)
    out = []
    for run in runs:
        path = osp.normpath(run)
        if osp.isfile(path):  # <work_dir>/<timestamp>/vis_data/scalars.json
            work_dir = osp.dirname(osp.dirname(osp.dirname(path)))
            path = work_dir if osp.basename(work_dir) else path
        out.append(osp.basename(path) or path)
    if len(set(out)) < len(out):  # same folder name: show the paths
        return [osp.normpath(run) for run in runs]
    return out


def plot_curves(curves: Dict[str, Dict[str, Tuple[str, Curve]]],
                keys: Sequence[str],
                out: str,
                cols: int = 2,
                dpi: int = 100) -> Tuple[int, int]:
    """Draw the curves, one subplot per key, and save a PNG.

    Args:
        curves (dict): ``run name -> split_curves(...)``.
        keys (Sequence[str]): Keys to draw, each in at least one run.
        out (str): PNG path.
        cols (int): Subplots per row. Defaults to 2.
        dpi (int): Pixels per inch; a subplot is 5 x 3.5 inches.
            Defaults to 100.

    Returns:
        tuple: The image's ``(width, height)`` in pixels.
    """
    from matplotlib.figure import Figure  # Agg canvas, no pyplot state

    cols = max(1, min(cols, len(keys)))
    rows = math.ceil(len(keys) / cols)
    fig = Figure(
        figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows), dpi=dpi)
    axes = fig.subplots(rows, cols, squeeze=False)
    for index, key in enumerate(keys):
        ax = axes[index // cols][index % cols]
        axis_names = set()
        # A run keeps its colour in every subplot, also where others lack
        # the key.
        for number, (run, run_curves) in enumerate(curves.items()):
            if key not in run_curves:
                continue
            axis, (xs, ys) = run_curves[key]
            axis_names.add(axis)
            ax.plot(xs, ys, color=f'C{number % 10}', label=run,
                    marker='.' if len(xs) < 30 else None)
        ax.set_title(key)
        ax.set_xlabel(' / '.join(sorted(axis_names)))
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small')
    for index in range(len(keys), rows * cols):
        axes[index // cols][index % cols].set_visible(False)
    fig.tight_layout()
    fig.savefig(out, dpi=dpi, format='png')
    width, height = fig.get_size_inches() * dpi
    return int(round(width)), int(round(height))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot loss and metric curves of runs as a PNG')
    parser.add_argument(
        'runs', nargs='+',
        help='work dirs of tools/train.py, or scalars.json files')
    parser.add_argument(
        '--keys', nargs='+',
        help='keys to plot (default: every loss* key and report/CIDEr-D)')
    parser.add_argument(
        '--names', nargs='+', help='legend names, one per run')
    parser.add_argument('--out', default='curves.png', help='PNG path')
    parser.add_argument('--cols', type=int, default=2,
                        help='subplots per row')
    parser.add_argument('--dpi', type=int, default=100)
    return parser.parse_args(argv)


def main(argv=None) -> str:
    """Run the tool; return the PNG path."""
    args = parse_args(argv)
    if args.cols < 1 or args.dpi < 1:
        raise CurveLogError('--cols and --dpi must be positive.')
    names = _run_names(args.runs, args.names)
    curves = OrderedDict()
    for name, run in zip(names, args.runs):
        rows = []
        for path in find_scalars(run):
            rows.extend(load_rows(path))
        curves[name] = split_curves(rows)
    available = sorted(set().union(*(c.keys() for c in curves.values())))
    keys = args.keys or default_keys(available)
    if not keys:
        raise CurveLogError(
            f'no loss* key or {DEFAULT_METRIC} in the logs; choose --keys '
            f'from: {", ".join(available) or "(none)"}.')
    missing = [key for key in keys if key not in available]
    if missing:
        raise CurveLogError(
            f'key(s) {", ".join(missing)} in no run; available keys: '
            f'{", ".join(available) or "(none)"}.')
    out_dir = osp.dirname(osp.abspath(args.out))
    if not osp.isdir(out_dir):
        raise CurveLogError(f'--out folder {out_dir!r} does not exist.')
    width, height = plot_curves(curves, keys, args.out, args.cols, args.dpi)
    print(f'wrote {args.out} ({width}x{height} px): {len(keys)} key(s), '
          f'{len(curves)} run(s)')
    return args.out


if __name__ == '__main__':
    try:
        main()
    except CurveLogError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
