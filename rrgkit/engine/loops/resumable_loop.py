# Copyright (c) rrgkit contributors. All rights reserved.
"""An epoch-based training loop that resumes exactly where it stopped.

mmengine 0.10.7's ``EpochBasedTrainLoop`` resumes a checkpoint saved in the
middle of an epoch (``CheckpointHook(by_epoch=False)``) by setting its
counters and then running the *whole* epoch again: the batches trained
before the checkpoint are trained twice, and the epoch ends with more
iterations than ``max_iters``. It also restores no random state, so dropout
masks (and any random augmentation) differ from the uninterrupted run.

:class:`ResumableEpochBasedTrainLoop` makes ``--resume`` exact:

* **Mid-epoch checkpoint.** The resumed epoch creates its data iterator from
  the random state the original epoch had at that point (so the sampler and
  the DataLoader's base seed are the same), fetches and discards the batches
  already trained (so DataLoader workers see the same batches in the same
  order), then restores the random state saved with the checkpoint and goes
  on with the next batch, under its original index.
* **Checkpoint at the end of an epoch, before validation** (the default
  ``CheckpointHook(by_epoch=True)`` saves there). mmengine skips that
  epoch's validation on resume, losing its metrics and best-checkpoint
  choice; this loop runs it first, from the saved random state.
* **Checkpoint written during validation** (the best checkpoint, and the
  last checkpoint re-saved after a new best). Training goes on with the next
  epoch from the saved random state.

The state travels in checkpoints through
:class:`rrgkit.engine.hooks.ResumeStateHook`, which must be registered too
(``configs/_base_/default_runtime.py`` does). Without it the loop still skips
the trained batches, but the random streams are not restored.
"""
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from rrgkit.registry import LOOPS
from rrgkit.utils.random_state import get_random_state, set_random_state

__all__ = ['ResumableEpochBasedTrainLoop']


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` with exact resume (see the module docstring).

    Takes the same arguments as :class:`mmengine.runner.EpochBasedTrainLoop`
    and trains identically when not resuming.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._epoch_start_state: Optional[Dict] = None
        self._in_val = False
        self._resume_state: Optional[Dict] = None

    def state_dict(self) -> Dict:
        """What an exact resume needs besides mmengine's checkpoint.

        Returns:
            dict: ``random_state`` (now), ``epoch_start_random_state`` (when
            the current epoch's data iterator was created) and ``phase``
            (``'val'`` during validation, else ``'train'``).
        """
        return dict(
            random_state=get_random_state(),
            epoch_start_random_state=self._epoch_start_state,
            phase='val' if self._in_val else 'train')

    def load_state_dict(self, state: Dict) -> None:
        """Keep a :meth:`state_dict` for the resumed run to apply.

        Args:
            state (dict): From a checkpoint of this loop.
        """
        self._resume_state = state

    def _batches_done(self) -> int:
        """Batches of the current epoch trained before the resume."""
        return self._iter - self._epoch * len(self.dataloader)

    def run(self) -> torch.nn.Module:
        """Launch training (resuming exactly if a state was loaded)."""
        self.runner.call_hook('before_train')
        if self._resume_state is not None and self._batches_done() == 0:
            state, self._resume_state = self._resume_state, None
            set_random_state(state['random_state'])
            if state['phase'] == 'train' and self._epoch > 0:
                # Saved at the end of the epoch, before its validation.
                self._decide_current_val_interval()
                self._validate_if_due()
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            self._validate_if_due()
        self.runner.call_hook('after_train')
        return self.runner.model

    def _validate_if_due(self) -> None:
        if (self.runner.val_loop is not None
                and self._epoch >= self.val_begin
                and (self._epoch % self.val_interval == 0
                     or self._epoch == self._max_epochs)):
            self._in_val = True
            try:
                self.runner.val_loop.run()
            finally:
                self._in_val = False

    def run_epoch(self) -> None:
        """Iterate one epoch, skipping the batches trained before a resume."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        done = self._batches_done()
        if not 0 <= done <= len(self.dataloader):
            raise RuntimeError(
                f'Cannot resume at iteration {self._iter} of epoch '
                f'{self._epoch + 1}: an epoch has {len(self.dataloader)} '
                'batches now. Resume with the batch size and data the '
                'checkpoint was trained with.')
        state = self._resume_state if done else None
        self._resume_state = None
        if state is not None and state.get('epoch_start_random_state'):
            set_random_state(state['epoch_start_random_state'])
        self._epoch_start_state = get_random_state()
        batches = iter(self.dataloader)
        if done:
            print_log(
                f'Resuming inside epoch {self._epoch + 1}: skipping its '
                f'first {done} batches, trained before the checkpoint.',
                logger='current')
            for _ in range(done):
                next(batches)
            if state is not None:
                set_random_state(state['random_state'])
        for idx, data_batch in enumerate(batches, start=done):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
