# Copyright (c) rrgkit contributors. All rights reserved.
"""Stop training with a clear message when the loss becomes NaN or inf.

mmengine keeps training on a NaN loss: every later step is NaN too, and the
checkpoint hook goes on saving NaN weights (and may even pick one as the
"best"). :class:`FiniteLossHook` checks the logged losses after every
training iteration and raises :class:`NonFiniteLossError`, naming the
iteration, the losses and the images of the batch, and what to try.

It runs with ``VERY_HIGH`` priority, before ``CheckpointHook``, so the
weights of the failed step are never written: the newest checkpoint in the
work dir is the last good one, and ``--resume`` starts from it.
"""
import math
from typing import Dict, List, Optional, Sequence

from mmengine.hooks import Hook

from rrgkit.registry import HOOKS

__all__ = ['FiniteLossHook', 'NonFiniteLossError']


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite."""


def _as_float(value) -> Optional[float]:
    try:
        return float(value.detach().float().mean()) if hasattr(
            value, 'detach') else float(value)
    except (TypeError, ValueError):
        return None


def _batch_ids(data_batch, limit: int = 8) -> List[str]:
    """The ``img_id`` of each sample of a batch, where there is one."""
    samples = data_batch.get('data_samples') if isinstance(
        data_batch, dict) else None
    ids = []
    for sample in samples or ():
        img_id = getattr(sample, 'metainfo', {}).get('img_id')
        if img_id is not None:
            ids.append(str(img_id))
    return ids[:limit] + (['...'] if len(ids) > limit else [])


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` as soon as a loss is not finite.

    Args:
        keys (Sequence[str], optional): Which logged values to check. None
            checks every value whose name contains ``'loss'``. Defaults to
            None.
        interval (int): Check every ``interval`` iterations (1 = each;
            each check reads the loss back from the device). Defaults to 1.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 keys: Optional[Sequence[str]] = None,
                 interval: int = 1) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}.')
        self.keys = None if keys is None else tuple(keys)
        self.interval = interval

    def _losses(self, outputs: Dict) -> Dict[str, Optional[float]]:
        names = [k for k in outputs if 'loss' in k] if self.keys is None \
            else [k for k in self.keys if k in outputs]
        return {k: _as_float(outputs[k]) for k in names}

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Check the losses of the iteration that just ran."""
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        losses = self._losses(outputs)
        bad = {k: v for k, v in losses.items()
               if v is not None and not math.isfinite(v)}
        if not bad:
            return
        raise NonFiniteLossError(self._message(runner, batch_idx, losses,
                                               data_batch))

    @staticmethod
    def _message(runner, batch_idx: int, losses: Dict[str, Optional[float]],
                 data_batch) -> str:
        shown = ', '.join(f'{k}={v}' for k, v in losses.items())
        where = f'iteration {runner.iter + 1}'
        if getattr(runner.train_loop, 'max_epochs', None):
            where += (f' (epoch {runner.epoch + 1}, batch {batch_idx + 1} '
                      f'of {len(runner.train_dataloader)})')
        ids = _batch_ids(data_batch)
        batch = f' Images of this batch: {", ".join(ids)}.' if ids else ''
        return (
            f'Training loss is not finite at {where}: {shown}.{batch} '
            'Training was stopped before this step was saved; the newest '
            f'checkpoint in {runner.work_dir!r} (if any) is the last good '
            'one. Try a lower learning rate (optim_wrapper.optimizer.lr), '
            'gradient clipping (optim_wrapper.clip_grad=dict(max_norm=1.0)) '
            'or, with --amp, full precision; check the images above; then '
            'resume with --resume or start again.')
