# Copyright (c) rrgkit contributors. All rights reserved.
"""A rich progress bar over report generation in validation and testing.

Generating reports (beam search over a whole split) is the slowest part of
an evaluation, and mmengine's logger only prints a line every ``interval``
iterations. :class:`RichProgressHook` shows a bar with the elapsed and
remaining time while a val or test epoch runs, on the main process only,
on stderr (so a tool's JSON on stdout stays clean).
"""
import sys
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from rrgkit.registry import HOOKS

__all__ = ['RichProgressHook']


@HOOKS.register_module()
class RichProgressHook(Hook):
    """Rich progress over the val and test loops.

    Args:
        val (bool): Show a bar during validation. Defaults to True.
        test (bool): Show a bar during testing. Defaults to True.
        transient (bool): Remove the bar when the epoch ends. Defaults to
            False: the finished bar stays in the terminal (and, where stderr
            is not a terminal, is printed once at the end).
    """

    priority = 'VERY_LOW'

    def __init__(self, val: bool = True, test: bool = True,
                 transient: bool = False) -> None:
        self.val = val
        self.test = test
        self.transient = transient
        self._progress = None
        self._task = None

    def _start(self, what: str, total: Optional[int]) -> None:
        if not is_main_process():
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                                   TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        self._progress = Progress(
            TextColumn('{task.description}'), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(file=sys.stderr), transient=self.transient)
        self._progress.start()
        self._task = self._progress.add_task(what, total=total)

    def _advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = self._task = None

    @staticmethod
    def _total(loader) -> Optional[int]:
        try:
            return len(loader)
        except TypeError:  # an iterable loader without a length
            return None

    def before_val_epoch(self, runner) -> None:
        """Start the bar over the val batches."""
        if self.val:
            self._start(f'val: generating reports (epoch {runner.epoch})',
                        self._total(runner.val_dataloader))

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs=None) -> None:
        """One val batch done."""
        self._advance()

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Close the bar."""
        self._stop()

    def before_test_epoch(self, runner) -> None:
        """Start the bar over the test batches."""
        if self.test:
            self._start('test: generating reports',
                        self._total(runner.test_dataloader))

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs=None) -> None:
        """One test batch done."""
        self._advance()

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Close the bar."""
        self._stop()
