# Copyright (c) rrgkit contributors. All rights reserved.
"""mmengine's CheckpointHook, reordered so that a crash never loses a save.

mmengine 0.10.7's ``CheckpointHook`` deletes the outdated checkpoint (beyond
``max_keep_ckpts``) *before* saving the new one, deletes the previous best
checkpoint before saving the new best, and writes ``last_checkpoint`` with a
plain ``open(..., 'w')``. A crash in between leaves ``last_checkpoint``
pointing at a deleted file (with ``max_keep_ckpts=1``), no best checkpoint,
or an empty pointer.

:class:`AtomicCheckpointHook` keeps mmengine's bookkeeping (the kept steps and
best paths recorded in the message hub) but orders the file operations as
new checkpoint -> ``last_checkpoint`` (atomic) -> deletions. The checkpoint
bytes themselves are written atomically by
:class:`rrgkit.utils.atomic_backend.AtomicLocalBackend`. It is a subclass
rather than a patch of mmengine's class, so configs opt in explicitly
(``configs/_base_/default_runtime.py`` does).
"""
import os.path as osp
from typing import List

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from rrgkit.registry import HOOKS
from rrgkit.utils.fileio import atomic_write

__all__ = ['AtomicCheckpointHook']


class _DeferredRemovals:
    """A file backend proxy that queues ``remove``/``rmtree`` calls."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.paths: List[str] = []

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def remove(self, path) -> None:
        self.paths.append(path)

    def rmtree(self, path) -> None:
        self.paths.append(path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """A :class:`mmengine.hooks.CheckpointHook` that is safe to crash in.

    Same arguments and behaviour as mmengine's hook; only the order of the
    file operations differs (see the module docstring). At every moment the
    work dir holds a complete checkpoint that ``last_checkpoint`` names.
    """

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed saves folders
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1]
                                            == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        pointer = str(self.last_ckpt).encode('utf-8')
        atomic_write(
            osp.join(runner.work_dir, 'last_checkpoint'),
            lambda f: f.write(pointer))
        if outdated is not None:
            self._remove(
                self.file_backend.join_path(self.out_dir,
                                            self.filename_tmpl.format(
                                                outdated)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        for path in deferred.paths:  # the new best is on disk by now
            self._remove(path)
