# Copyright (c) rrgkit contributors. All rights reserved.
"""Time data loading with and without the decoded-image cache.

``python tools/analysis/bench_data_loading.py [CONFIG] [--epochs 3]``

(a) Epoch times of the training split's pipeline (load, decode, resize,
    pack; in this process, no workers), first epoch and later ones,
    without a cache and with :class:`rrgkit.datasets.CachedTransforms`
    around the pipeline's deterministic start (:func:`cache_pipeline`),
    starting from an empty cache folder. Every cached output is compared
    with the uncached one (the packed tensors and meta data must be equal).
(b) The share of training-step time spent waiting for data: a short run of
    the config's own training (its dataloader workers, model, optimizer
    and hooks; ``--iters`` iterations, no validation), from mmengine's
    per-iteration ``data_time`` / ``time``, without and with the cache
    (filled beforehand, as in the epochs after the first). The first
    iteration (worker start-up) is left out of the share.

The script prints the per-epoch times, the ratio of a later cached epoch to
an uncached one, and the data-wait shares.
"""
import argparse
import copy
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from rrgkit.datasets.transforms import cache_pipeline  # noqa: E402
from rrgkit.registry import DATASETS  # noqa: E402
from rrgkit.utils.bench import median  # noqa: E402
from rrgkit.utils.setup_env import load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default='configs/nic_covctr.py')
    parser.add_argument('--epochs', type=int, default=3,
                        help='epochs of part (a), per setting')
    parser.add_argument('--max-images', type=int, default=None,
                        help='use only the first N training records')
    parser.add_argument('--cache', choices=['disk', 'memory'],
                        default='disk')
    parser.add_argument('--cache-dir', default=None,
                        help='cache folder (default: a new temporary one, '
                        'so that the first epoch starts cold)')
    parser.add_argument('--iters', type=int, default=20,
                        help='training iterations of part (b); 0 skips it')
    parser.add_argument('--data-root', help='data root of the config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def build_dataset(cfg, pipeline, indices=None):
    """The config's training dataset with another pipeline."""
    ds_cfg = dict(cfg.train_dataloader.dataset)
    ds_cfg['pipeline'] = pipeline
    if indices is not None:
        ds_cfg['indices'] = indices
    return DATASETS.build(ds_cfg)


def epoch(dataset) -> tuple:
    """Seconds to run the pipeline on every record, and the outputs."""
    start = time.perf_counter()
    outs = [dataset[i] for i in range(len(dataset))]
    return time.perf_counter() - start, outs


def same(a: dict, b: dict) -> bool:
    """Packed records equal: input tensors, meta data and report."""
    return (torch.equal(a['inputs'], b['inputs'])
            and a['inputs'].dtype == b['inputs'].dtype
            and a['data_samples'].metainfo == b['data_samples'].metainfo
            and a['data_samples'].get('gt_report') == b['data_samples'].get(
                'gt_report'))


def part_a(args, cfg, pipeline, cached, report) -> bool:
    """Epoch times with and without the cache; checks equal outputs."""
    plain_ds = build_dataset(cfg, pipeline, args.max_images)
    cached_ds = build_dataset(cfg, cached, args.max_images)
    plain_t, cached_t, reference, equal = [], [], None, True
    for _ in range(args.epochs):
        t, outs = epoch(plain_ds)
        plain_t.append(t)
        reference = reference or outs
    for _ in range(args.epochs):
        t, outs = epoch(cached_ds)
        cached_t.append(t)
        equal &= all(same(a, b) for a, b in zip(reference, outs))
    n = len(plain_ds)
    report(f'(a) {n} training records, pipeline in this process, '
           f'{args.cache} cache')
    report('    epoch   no cache (s)   cache (s)')
    for i, (p, c) in enumerate(zip(plain_t, cached_t)):
        report(f'    {i + 1:5d}   {p:12.3f}   {c:9.3f}')
    if args.epochs > 1:
        later_p, later_c = median(plain_t[1:]), median(cached_t[1:])
        report(f'    later epochs, cache / no cache: {later_c / later_p:.3f} '
               f'({1000 * later_p / n:.2f} -> {1000 * later_c / n:.2f} '
               'ms per record)')
        report(f'    first cached epoch / no cache : '
               f'{cached_t[0] / plain_t[0]:.3f} (filling the cache)')
    report(f'    cached outputs identical to uncached: {equal}')
    return equal


def data_wait(args, cfg, pipeline, work_dir: str, name: str) -> tuple:
    """A short training run; the data-wait share of its iterations."""
    run_cfg = copy.deepcopy(cfg)
    batch = run_cfg.train_dataloader.batch_size
    run_cfg.train_dataloader.dataset.pipeline = pipeline
    run_cfg.train_dataloader.dataset.indices = args.iters * batch
    run_cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=10**9)
    run_cfg.val_cfg = run_cfg.val_dataloader = run_cfg.val_evaluator = None
    run_cfg.test_cfg = run_cfg.test_dataloader = None
    run_cfg.test_evaluator = None
    run_cfg.default_hooks.checkpoint = None
    run_cfg.load_from, run_cfg.resume = None, False
    run_cfg.work_dir = osp.join(work_dir, name)
    run_cfg.experiment_name = f'bench_data_loading_{name}'
    run_cfg.log_level = 'WARNING'  # the timings come from the message hub
    runner = Runner.from_cfg(run_cfg)
    runner.train()
    hub = runner.message_hub
    data_t = hub.get_scalar('train/data_time').data[0][1:]
    iter_t = hub.get_scalar('train/time').data[0][1:]
    first = hub.get_scalar('train/data_time').data[0][0]
    return float(data_t.sum() / iter_t.sum()), float(iter_t.mean()), first


def part_b(args, cfg, pipeline, cached, tmp: str, report) -> None:
    """Data-wait shares of short training runs without and with a cache."""
    if args.cache == 'memory':  # workers would start with empty caches
        report('(b) skipped: a memory cache is per worker process; use '
               '--cache disk')
        return
    batch = cfg.train_dataloader.batch_size
    epoch(build_dataset(cfg, cached, args.iters * batch))  # fill the cache
    rows = [('no cache', data_wait(args, cfg, pipeline, tmp, 'plain')),
            ('cache', data_wait(args, cfg, cached, tmp, 'cached'))]
    workers = cfg.train_dataloader.get('num_workers', 0)
    report(f'(b) {args.iters} training iterations of batch {batch}, '
           f'{workers} dataloader workers; iterations 2.. counted')
    for label, (share, it, first) in rows:
        report(f'    {label:8s}: waiting for data {100 * share:5.1f}% of '
               f'step time ({1000 * it:.1f} ms per iteration; first batch '
               f'{first:.2f} s)')


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    if cfg.get('stages'):
        raise SystemExit('error: give one stage config of a pipeline.')
    # The config's own cache (``cache_images``) is off here: the script
    # compares no cache with a cache of its own that starts empty.
    cfg.train_dataloader.dataset.pop('cache_images', None)
    pipeline = list(cfg.train_dataloader.dataset.pipeline)
    lines = []  # printed at the end, after the training runs' logs
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache_dir or osp.join(tmp, 'cache')
        cached = cache_pipeline(pipeline, args.cache, cache_dir)
        if len(cached) == len(pipeline) and cached[0] == pipeline[0]:
            raise SystemExit('error: the pipeline has no deterministic '
                             'start to cache.')
        equal = part_a(args, cfg, pipeline, cached, lines.append)
        if args.iters > 0:
            part_b(args, cfg, pipeline, cached, tmp, lines.append)
    print('\n'.join(lines))
    sys.exit(0 if equal else 1)


if __name__ == '__main__':
    main()
