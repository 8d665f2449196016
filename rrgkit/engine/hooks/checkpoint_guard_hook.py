# Copyright (c) rrgkit contributors. All rights reserved.
"""Store the vocabulary with each run and refuse mismatched checkpoints."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from rrgkit.registry import HOOKS
from rrgkit.utils.checkpoint import check_checkpoint_fits_model
from rrgkit.version import __version__

__all__ = ['CheckpointGuardHook']


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class CheckpointGuardHook(Hook):
    """Save ``vocab.json`` in the work dir and guard checkpoint loading.

    * ``before_run``: writes the model tokenizer's vocabulary to
      ``<work_dir>/vocab.json`` (the same vocabulary is also inside every
      checkpoint, as part of the model's state dict).
    * ``before_save_checkpoint``: records the model class, vocabulary hash and
      rrgkit version in ``checkpoint['meta']['rrgkit']``.
    * ``after_load_checkpoint`` (runs before the weights reach the model):
      raises a clear error when the checkpoint belongs to another model or
      vocabulary, instead of mmengine's non-strict load with warnings.

    Args:
        vocab_file (str): File name in the work dir. Defaults to
            ``'vocab.json'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, vocab_file: str = 'vocab.json') -> None:
        self.vocab_file = vocab_file

    def before_run(self, runner) -> None:
        tokenizer = getattr(_unwrap(runner.model), 'tokenizer', None)
        if tokenizer is not None and is_main_process():
            tokenizer.save(osp.join(runner.work_dir, self.vocab_file))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model = _unwrap(runner.model)
        info = dict(model=type(model).__name__, rrgkit_version=__version__)
        tokenizer = getattr(model, 'tokenizer', None)
        if tokenizer is not None:
            info['vocab_hash'] = tokenizer.vocab_hash
            info['vocab_size'] = len(tokenizer)
        checkpoint.setdefault('meta', {})['rrgkit'] = info

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        source: Optional[str] = runner._load_from
        if not source:
            source = f'(latest checkpoint in {runner.work_dir})'
        check_checkpoint_fits_model(_unwrap(runner.model), checkpoint,
                                    repr(source))
