# Copyright (c) rrgkit contributors. All rights reserved.
"""Time training epochs on a frozen backbone with and without cached features.

``python tools/analysis/bench_feature_cache.py [--config CONFIG] [--epochs 3]``

Both sides train the config's model with its backbone frozen (eval mode, no
gradients), from the same backbone weights:

- no cache: the backbone runs on every batch (the config's own pipeline,
  image cache included);
- cache: the training dataset gets ``feature_cache`` (see
  docs/feature_cache.md) and the model ``backbone=CachedFeatures``, so a
  step reads the stored feature maps and trains the rest of the model.

First the cache is filled, from an empty folder unless ``--cache-dir`` is
given; that time is printed as the cost of the first use. Then epochs
alternate between the two sides (``--epochs`` each; the order flips every
round): every batch of the training dataloader (its workers, data loading
included) through one iteration of the config's train loop (hooks +
``train_step``); validation is off. The script prints every epoch's time,
the medians of the epochs after the first (whose worker start-up and image
cache filling the others do not pay) and their ratio.

The backbone weights are ``--checkpoint``'s, else the config's backbone at
its seeded initialisation, saved to a temporary file (the timings do not
depend on the weights). The default config is NIC on the embedded
synthetic data (a small DenseNet at 64 px).
"""
import argparse
import copy
import os
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from rrgkit.registry import DATASETS, MODELS  # noqa: E402
from rrgkit.utils.bench import (
    interleaved_times,
    median,  # noqa: E402
    prepare_train,
    run_train_iter)
from rrgkit.utils.checkpoint import safe_load_checkpoint  # noqa: E402
from rrgkit.utils.setup_env import load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/nic_synth.py')
    parser.add_argument('--epochs',
                        type=int,
                        default=3,
                        help='timed epochs per side')
    parser.add_argument('--max-images',
                        type=int,
                        default=None,
                        help='use only the first N training records')
    parser.add_argument('--checkpoint',
                        default=None,
                        help='frozen backbone weights (default: the '
                        "config's seeded initialisation)")
    parser.add_argument('--prefix',
                        default='backbone.',
                        help='key prefix of the backbone in --checkpoint')
    parser.add_argument('--dtype',
                        choices=['float16', 'float32'],
                        default='float16')
    parser.add_argument('--cache-dir',
                        default=None,
                        help='feature cache folder (default: a new '
                        'temporary one, so that the first use starts cold)')
    parser.add_argument('--data-root', help='data root of the config')
    parser.add_argument('--cfg-options',
                        nargs='+',
                        action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def run_config(cfg, work_dir: str, name: str, max_images=None):
    """A copy of ``cfg`` for a timed training run, without validation."""
    cfg = copy.deepcopy(cfg)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.load_from, cfg.resume = None, False
    if max_images is not None:
        cfg.train_dataloader.dataset.indices = max_images
    cfg.work_dir = osp.join(work_dir, name)
    cfg.experiment_name = f'bench_feature_cache_{name}'
    cfg.log_level = 'WARNING'
    return cfg


def backbone_weights(args, cfg, path: str) -> dict:
    """The frozen backbone's state dict; saved to ``path`` if generated."""
    if args.checkpoint is not None:
        ckpt = safe_load_checkpoint(args.checkpoint)
        state = ckpt.get('state_dict', ckpt)
        return {
            k[len(args.prefix):]: v
            for k, v in state.items() if k.startswith(args.prefix)
        }
    torch.manual_seed(0)
    state = MODELS.build(cfg.model.backbone).state_dict()
    torch.save({'state_dict': {
        args.prefix + k: v
        for k, v in state.items()
    }}, path)
    return state


def frozen_runner(cfg, weights: dict) -> Runner:
    """Prepared runner whose model's backbone has ``weights``, frozen."""
    runner = Runner.from_cfg(cfg)
    prepare_train(runner)  # initialises the weights: load after it
    backbone = runner.model.backbone
    backbone.load_state_dict(weights)
    backbone.requires_grad_(False)
    backbone.eval()
    return runner


def epoch(runner: Runner) -> None:
    """Every batch of the training dataloader through one iteration."""
    for idx, batch in enumerate(runner.train_dataloader):
        run_train_iter(runner, batch, idx)


def folder_size(path: str) -> int:
    return sum(
        osp.getsize(osp.join(root, f)) for root, _, files in os.walk(path)
        for f in files)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    if cfg.get('stages'):
        raise SystemExit('error: give one stage config of a pipeline.')
    if cfg.model.get('region_proposer') is not None:
        raise SystemExit('error: this benchmark caches the backbone only; '
                         'give a config without a region proposer.')
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.checkpoint or osp.join(tmp, 'backbone.pth')
        weights = backbone_weights(args, cfg, ckpt)
        cache_dir = args.cache_dir or osp.join(tmp, 'features')
        plain_cfg = run_config(cfg, tmp, 'plain', args.max_images)
        cached_cfg = run_config(cfg, tmp, 'cached', args.max_images)
        dataset = cached_cfg.train_dataloader.dataset
        dataset.pop('cache_images', None)
        dataset.feature_cache = dict(
            backbone=cfg.model.backbone,
            checkpoint=ckpt,
            prefix=args.prefix,
            data_preprocessor=cfg.model.get('data_preprocessor'),
            dtype=args.dtype,
            cache_dir=cache_dir)

        start = time.perf_counter()  # first use: fills the cache
        filled = DATASETS.build(copy.deepcopy(dataset))
        fill_time = time.perf_counter() - start
        computed = filled.pipeline.transforms[0].num_computed
        feat = filled[0]['inputs']['feat_map']
        # A name, not the class: the runner prints its config.
        cached_cfg.model.backbone = dict(type='CachedFeatures',
                                         out_channels=feat.shape[-3])

        runners = dict(no_cache=frozen_runner(plain_cfg, weights),
                       cache=Runner.from_cfg(cached_cfg))
        prepare_train(runners['cache'])
        times = interleaved_times(
            {
                k: (lambda r=r: epoch(r))
                for k, r in runners.items()
            },
            steps=1,
            repeats=args.epochs)
        size = folder_size(cache_dir)

    n = len(filled)
    loader = runners['cache'].train_dataloader
    kind = cfg.model.backbone.type
    print(f'config {args.config}: {type(runners["cache"].model).__name__}, '
          f'frozen {getattr(kind, "__name__", kind)}, '
          f'{n} training records, batch {loader.batch_size}, '
          f'{loader.num_workers} dataloader workers, '
          f'{torch.get_num_threads()} threads')
    print(f'cached features per image: {tuple(feat.shape)} {args.dtype}; '
          f'cache {size / 2**20:.1f} MiB')
    print(f'first use: {computed} images computed in {fill_time:.1f} s '
          f'({1000 * fill_time / max(computed, 1):.1f} ms per image)')
    print('    epoch   no cache (s)   cache (s)')
    for i, (p, c) in enumerate(zip(times['no_cache'], times['cache'])):
        print(f'    {i + 1:5d}   {p:12.2f}   {c:9.2f}')
    later = slice(1, None) if args.epochs > 1 else slice(None)
    plain_t = median(times['no_cache'][later])
    cached_t = median(times['cache'][later])
    print(f'epoch time (median of epochs {"2.." if args.epochs > 1 else "1"}'
          f'): no cache {plain_t:.2f} s, cache {cached_t:.2f} s; '
          f'no cache / cache: {plain_t / cached_t:.2f}x')


if __name__ == '__main__':
    main()
