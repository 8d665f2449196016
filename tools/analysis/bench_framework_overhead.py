# Copyright (c) rrgkit contributors. All rights reserved.
"""Time an rrgkit training step against a plain PyTorch step.

``python tools/analysis/bench_framework_overhead.py [CONFIG] [--steps 20]``

Both sides train the same model (the plain side is a copy with identical
weights) on the same pre-fetched batch with the same optimizer settings:

- rrgkit: one iteration of mmengine's train loop as the config builds it
  (``Runner.from_cfg``): the ``before_train_iter`` hooks,
  ``model.train_step(data, optim_wrapper)`` (data preprocessor, loss,
  ``OptimWrapper.update_params`` with the config's ``clip_grad``) and the
  ``after_train_iter`` hooks (timer, logger, checkpoint, custom hooks...).
- plain: what any loop does with the loader's uint8 images (stack them,
  ``float()``, subtract the mean, divide by the std), then
  ``model.loss(inputs, data_samples)``, sum of the losses, ``backward``,
  ``clip_grad_norm_``/``clip_grad_value_``, ``step``, ``zero_grad``,
  ``loss.item()``. ``--pre-normalised`` gives the plain side a batch
  normalised once beforehand instead, so that the stacking and
  normalisation also count as rrgkit overhead (a stricter comparison).

Blocks of ``--steps`` steps alternate between the two sides, ``--repeats``
times each (the order flips every repeat). The script prints the median
step time of each side, the ratio rrgkit/plain (target <= 1.05) and the
largest loss difference on the first step, taken from identical weights
and random state. Data loading is excluded (see bench_data_loading.py).
The default config trains a small DenseNet on 64 px images, where a fixed
per-step cost weighs most.
"""
import argparse
import copy
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from rrgkit.utils.bench import (clone_optimizer, interleaved_times,  # noqa
                                median, prepare_train, run_train_iter)
from rrgkit.utils.setup_env import load_config  # noqa: E402

TARGET = 1.05


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default='configs/nic_synth.py')
    parser.add_argument('--steps', type=int, default=20,
                        help='timed steps per block')
    parser.add_argument('--repeats', type=int, default=5,
                        help='blocks per side')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps per side after the first')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    parser.add_argument(
        '--pre-normalised', action='store_true',
        help='give the plain side a batch normalised once beforehand')
    parser.add_argument('--data-root', help='data root of the config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def build_runner(args, work_dir: str) -> Runner:
    """The config's runner, without validation, loading in the process."""
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    if cfg.get('stages'):
        raise SystemExit('error: give one stage config of a pipeline.')
    cfg.work_dir = work_dir
    cfg.experiment_name = 'bench_framework_overhead'
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.load_from, cfg.resume = None, False
    cfg.train_dataloader.num_workers = 0  # one batch, fetched once
    cfg.train_dataloader.persistent_workers = False
    return Runner.from_cfg(cfg)


class PlainStep:
    """One plain PyTorch training step of ``model`` on a fixed batch.

    Args:
        model (nn.Module): The model (``loss(inputs, data_samples)``).
        optimizer (Optimizer): Its optimizer.
        inputs (Tensor | list[Tensor]): The normalised batch, or the
            loader's uint8 images, stacked and normalised every step.
        data_samples (list): The batch's data samples.
        mean (Tensor, optional): Per-channel mean for raw images.
        std (Tensor, optional): Per-channel std for raw images.
        clip_func (Callable, optional): ``torch.nn.utils.clip_grad_norm_``
            or ``clip_grad_value_``; None: no clipping.
        clip_kwargs (dict, optional): Its arguments besides the parameters.
    """

    def __init__(self, model, optimizer, inputs, data_samples,
                 clip_func=None, clip_kwargs=None, mean=None, std=None):
        self.model, self.optimizer = model, optimizer
        self.inputs, self.data_samples = inputs, data_samples
        self.mean, self.std = mean, std
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.clip_func, self.clip_kwargs = clip_func, clip_kwargs or {}

    def _batch(self):
        if isinstance(self.inputs, torch.Tensor):
            return self.inputs
        return (torch.stack(self.inputs).float() - self.mean) / self.std

    def __call__(self) -> dict:
        losses = self.model.loss(self._batch(), self.data_samples)
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()
        if self.clip_func is not None:
            self.clip_func(self.params, **self.clip_kwargs)
        self.optimizer.step()
        self.optimizer.zero_grad()
        out = {k: v.item() for k, v in losses.items()}
        out['loss'] = loss.item()
        return out


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work_dir:
        runner = build_runner(args, work_dir)
        prepare_train(runner)
        batch = next(iter(runner.train_dataloader))
        model = runner.model
        plain_model = copy.deepcopy(model)  # identical weights and buffers
        plain_model.train()
        optim_wrapper = runner.optim_wrapper
        plain_opt = clone_optimizer(optim_wrapper.optimizer, model,
                                    plain_model)
        with torch.no_grad():
            data = plain_model.data_preprocessor(batch, True)
        clip = getattr(optim_wrapper, 'clip_grad_kwargs', None)
        clip_func = getattr(optim_wrapper, 'clip_func', None) if clip else None
        if args.pre_normalised:
            plain = PlainStep(plain_model, plain_opt, data['inputs'],
                              data['data_samples'], clip_func, clip)
        else:
            pre = plain_model.data_preprocessor
            plain = PlainStep(plain_model, plain_opt, list(batch['inputs']),
                              data['data_samples'], clip_func, clip,
                              mean=pre.mean, std=pre.std)
            assert torch.equal(plain._batch(), data['inputs'])
        count = iter(range(10**9))

        def rrgkit_step():
            run_train_iter(runner, batch, next(count))

        # First step of each side from the same weights and random state.
        torch.manual_seed(0)
        outputs = model.train_step(batch, optim_wrapper)
        torch.manual_seed(0)
        plain_out = plain()
        diff = max(
            abs(outputs[k].item() - plain_out[k]) for k in plain_out
            if k in outputs)
        for _ in range(args.warmup):
            rrgkit_step()
            plain()
        times = interleaved_times(dict(rrgkit=rrgkit_step, plain=plain),
                                  args.steps, args.repeats)

    t_rrg, t_plain = median(times['rrgkit']), median(times['plain'])
    ratio = t_rrg / t_plain
    shape = tuple(data['inputs'].shape)
    print(f'config {args.config}: {type(model).__name__}, batch {shape}, '
          f'{type(plain_opt).__name__}, clip '
          f'{getattr(clip_func, "__name__", None)}{clip or ""}, '
          f'{torch.get_num_threads()} threads')
    print('plain side: ' + ('batch normalised once beforehand'
                            if args.pre_normalised else
                            'stacks and normalises the uint8 images every '
                            'step'))
    print(f'first-step loss, max |rrgkit - plain|: {diff:.3g} '
          f'(loss {plain_out["loss"]:.6f})')
    print(f'{args.repeats} interleaved blocks x {args.steps} steps per side')
    print(f'rrgkit step (hooks + train_step): {1000 * t_rrg:9.2f} ms median')
    print(f'plain PyTorch step              : {1000 * t_plain:9.2f} ms median')
    verdict = 'meets' if ratio <= TARGET else 'misses'
    print(f'ratio rrgkit/plain: {ratio:.3f} ({verdict} the target '
          f'<= {TARGET})')


if __name__ == '__main__':
    main()
