# Copyright (c) rrgkit contributors. All rights reserved.
"""Run a benchmark: methods x seeds, recorded, aggregated, compared.

``python tools/benchmark.py configs/benchmarks/covctr_en_cpu.py [--jobs 2]``

Runs the spec's ``prepare`` steps (e.g. the shared frozen backbone), then
trains and tests every (method, seed) of the spec one after another (or
``--jobs`` at a time, sharing the CPU threads), each in its own work dir,
skipping runs whose record exists (stop and rerun to continue). Then
aggregates mean ± std over seeds, distinct-1/2, the share of reports equal
to the most frequent training report, and paired randomization tests of
each method against the reference over test images (per-image CIDEr-D, and
clinical efficacy F1 when the configs score CE); writes
``<results_dir>/summary.json`` and prints a table. ``--aggregate-only``
skips training.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from rrgkit.apis.benchmark import (aggregate_benchmark,  # noqa: E402
                                   load_benchmark, plan_prepare,
                                   plan_runs,
                                   run_environment)
from rrgkit.apis.pipeline import _final_checkpoint  # noqa: E402
from rrgkit.apis.results import RecordError  # noqa: E402
from rrgkit.utils.fileio import atomic_write_json  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('spec', help='benchmark spec (python config)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time (they share the CPU threads)')
    parser.add_argument('--threads', type=int, default=os.cpu_count() or 1,
                        help='CPU threads for all running jobs together')
    parser.add_argument('--aggregate-only', action='store_true')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the commands of unfinished runs')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value added to every run')
    return parser.parse_args(argv)


def _resolve(cmd):
    """Fill a command's placeholders from earlier commands' outputs:
    ``@best:DIR`` (alone or as in ``load_from=@best:DIR``) -> the run's
    checkpoint chosen on val, ``@options:FILE`` -> the ``key=value``
    options chosen by ``tools/analysis/choose_decoding.py``."""
    out = []
    for arg in cmd:
        if arg.startswith('@options:'):
            with open(arg[len('@options:'):], encoding='utf-8') as f:
                out.extend(json.load(f)['options'])
        elif '@best:' in arg:
            head, work_dir = arg.split('@best:', 1)
            out.append(head + _final_checkpoint(work_dir))
        else:
            out.append(arg)
    return out


def _execute(run, log_path, env):
    """Run a run's commands in order, logging each with its wall time."""
    os.makedirs(osp.dirname(log_path) or '.', exist_ok=True)
    with open(log_path, 'a', encoding='utf-8') as log:
        start = time.perf_counter()
        for cmd in run.commands:
            cmd = _resolve(cmd)
            log.write('$ ' + ' '.join(cmd) + '\n')
            log.flush()
            began = time.perf_counter()
            code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT,
                                   env=env)
            log.write(f'[job] {osp.basename(cmd[1])}: exit {code} after '
                      f'{time.perf_counter() - began:.1f} s\n')
            log.flush()
            if code != 0:
                return f'exit {code} (see {log_path})'
        log.write(f'[job] run done after {time.perf_counter() - start:.1f} '
                  's\n')
    return None


def _log_path(spec, run):
    tag = 'sanity' if run.seed is None else f'seed{run.seed}'
    name = run.method.replace(':', '_')
    return osp.join(spec['work_root'], 'logs', f'{name}_{tag}.log')


def run_all(spec, runs, jobs, threads, console):
    todo, seen = [], set()
    for run in runs:
        key = tuple(map(tuple, run.commands))
        if run.done or key in seen:
            continue
        seen.add(key)
        todo.append(run)
    env = run_environment(max(1, threads // max(1, jobs)))
    failures = []
    with Progress(console=console) as progress:
        task = progress.add_task(f"{spec['name']}: {len(todo)} runs",
                                 total=len(todo))

        def one(run):
            error = _execute(run, _log_path(spec, run), env)
            progress.advance(task)
            label = run.method + ('' if run.seed is None else
                                  f' seed {run.seed}')
            if error:
                failures.append(f'{label}: {error}')
            progress.console.print(f'{label}: ' + (error or 'done'))

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(one, todo))
    return failures


def print_summary(summary, console):
    table = Table(title=f"{summary['name']} ({summary['split']})")
    metrics = ['report/BLEU-4', 'report/METEOR', 'report/ROUGE-L',
               'report/CIDEr-D', 'CE/abnormal/micro_F1', 'CE/DCA/accuracy']
    names = ['BLEU-4', 'METEOR', 'ROUGE-L', 'CIDEr-D', 'CE F1 (abnormal)',
             'DCA (text)']
    for col in ['method', 'seeds', *names, 'distinct-2',
                'most-frequent share', 'p vs reference', 'p CE']:
        table.add_column(col)
    for name, entry in summary['methods'].items():
        cells = [name, str(len(entry['seeds']))]
        for m in metrics:
            if m in entry['mean']:
                cells.append(f"{entry['mean'][m]:.3f} ± {entry['std'][m]:.3f}")
            else:
                cells.append('–')
        share = entry['most_frequent_share']
        test, ce_test = entry.get('test'), entry.get('ce_test')
        cells += [f"{entry['distinct_2']:.3f}",
                  '–' if share is None else f'{share:.2f}',
                  '–' if not test else f"{test['p']:.3f}",
                  '–' if not ce_test else f"{ce_test['p']:.3f}"]
        table.add_row(*cells)
    console.print(table)


def main(argv=None):
    args = parse_args(argv)
    console = Console()
    try:
        spec = load_benchmark(args.spec)
    except RecordError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    prepare, runs = plan_prepare(spec), plan_runs(spec, args.cfg_options)
    if args.dry_run:
        for run in prepare + runs:
            if not run.done:
                for cmd in run.commands:
                    print(' '.join(cmd))
        return 0
    failures = []
    if not args.aggregate_only:
        failures = run_all(spec, prepare, 1, args.threads, console)
        if failures:  # every method needs what the steps make
            console.print('[red]failed:[/red]\n' + '\n'.join(failures))
            return 1
        failures = run_all(spec, runs, args.jobs, args.threads, console)
    summary = aggregate_benchmark(spec, runs)
    atomic_write_json(summary, osp.join(spec['results_dir'],
                                        'summary.json'))
    print_summary(summary, console)
    if failures:
        console.print('[red]failed runs:[/red]\n' + '\n'.join(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
