# Copyright (c) rrgkit contributors. All rights reserved.
"""Achieved FLOP/s of DenseNet-121 training steps vs the machine's matmul.

``python tools/analysis/bench_backbone_flops.py [--image-size 224]
[--batch 8]``

The backbone is built from the model config rrgkit's DenseNet-121 configs
use (``configs/_base_/models/nic_densenet121.py``, mmpretrain's
``DenseNet(arch='121')``). One training step is forward, a scalar loss (the
mean of the last feature map), backward and an Adam step. Its FLOPs are
counted once with ``torch.utils.flop_counter.FlopCounterMode`` (the
convolutions and matmuls of forward and backward; elementwise work, e.g.
batch norm and the optimizer, is not counted). The reference is the best
FLOP/s of a large float32 ``torch.mm`` over the thread settings tried.

Each combination of memory format (contiguous, channels_last) and thread
count (``torch.set_num_threads``) is timed in interleaved blocks; the
script prints the median step time, the achieved FLOP/s, their ratio to
the matmul FLOP/s, and the best combination.
"""
import argparse
import copy
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from rrgkit.registry import MODELS  # noqa: E402
from rrgkit.utils.bench import interleaved_times, median  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODEL_CFG = osp.join(REPO, 'configs/_base_/models/nic_densenet121.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--image-size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--steps', type=int, default=3,
                        help='timed steps per block')
    parser.add_argument('--repeats', type=int, default=2,
                        help='blocks per combination')
    parser.add_argument('--threads', default=None,
                        help='comma-separated thread counts (default: 1, '
                        'half and all of torch\'s default)')
    parser.add_argument('--mm-size', type=int, default=4096,
                        help='n of the n x n float32 matmul reference')
    parser.add_argument('--model-config', default=MODEL_CFG,
                        help='config whose model.backbone is built')
    return parser.parse_args(argv)


def thread_counts(spec) -> list:
    """The thread counts to try: ``spec`` or 1, half and all."""
    if spec:
        return sorted({int(t) for t in spec.split(',')})
    full = torch.get_num_threads()
    return sorted({1, max(1, full // 2), full})


def matmul_flops(n: int, threads: int, repeats: int = 5) -> float:
    """Best FLOP/s of an ``n x n`` float32 ``torch.mm`` on ``threads``."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)  # warm-up
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best


class TrainStep:
    """Forward, mean of the last feature map, backward, Adam step."""

    def __init__(self, backbone, images, channels_last: bool):
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.model = copy.deepcopy(backbone).to(memory_format=fmt)
        self.model.train()  # mmpretrain's DenseNet.train returns None
        self.images = images.contiguous(memory_format=fmt)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4)

    def __call__(self) -> float:
        feats = self.model(self.images)
        feat = feats[-1] if isinstance(feats, (list, tuple)) else feats
        loss = feat.mean()
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss.item()


def count_flops(step: TrainStep) -> int:
    """Forward + backward FLOPs of one step."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def main(argv=None):
    args = parse_args(argv)
    counts = thread_counts(args.threads)
    mm = {t: matmul_flops(args.mm_size, t) for t in counts}
    peak = max(mm.values())

    torch.manual_seed(0)
    backbone = MODELS.build(Config.fromfile(args.model_config).model.backbone)
    images = torch.randn(args.batch, 3, args.image_size, args.image_size)
    steps = {fmt: TrainStep(backbone, images, fmt == 'channels_last')
             for fmt in ('contiguous', 'channels_last')}
    flops = count_flops(steps['contiguous'])

    current = [None]

    def timed(step, threads):
        def run():
            if current[0] != threads:
                torch.set_num_threads(threads)
                current[0] = threads
            step()
        return run

    fns = {(fmt, t): timed(step, t)
           for fmt, step in steps.items() for t in counts}
    for fn in fns.values():
        fn()  # warm-up (allocations, one-time kernel selection)
    times = interleaved_times(fns, args.steps, args.repeats)

    print(f'{type(backbone).__name__} ({osp.relpath(args.model_config)}), '
          f'batch {args.batch} x 3 x {args.image_size}^2, '
          f'{flops / 1e9:.1f} GFLOP per step (forward + backward)')
    print(f'float32 mm {args.mm_size}^2: ' + ', '.join(
        f'{mm[t] / 1e9:.1f} GFLOP/s on {t} thread(s)' for t in counts) +
          f'; reference {peak / 1e9:.1f} GFLOP/s')
    print(f'{args.repeats} interleaved blocks x {args.steps} steps each')
    print('    memory format   threads   step (ms)   GFLOP/s   '
          'ratio to mm')
    rows = []
    for (fmt, t), values in times.items():
        step_t = median(values)
        achieved = flops / step_t
        rows.append((achieved / peak, fmt, t))
        print(f'    {fmt:13s}   {t:7d}   {1000 * step_t:9.1f}   '
              f'{achieved / 1e9:7.1f}   {achieved / peak:11.3f}')
    ratio, fmt, t = max(rows)
    print(f'best: {fmt}, {t} thread(s): {ratio:.3f} of the matmul FLOP/s')


if __name__ == '__main__':
    main()
