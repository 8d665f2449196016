# Copyright (c) rrgkit contributors. All rights reserved.
"""Keep a retrieval encoder's memory bank in step with the model weights.

The bank of :class:`~rrgkit.models.encoders.RetrievalEncoder` holds the
embedding and the tokenised report of every training image. Embeddings
come from the current weights, so the bank is rebuilt (one forward pass
over the training split in eval mode, no gradient) at the end of every
``interval``-th training epoch, before the checkpoint of that epoch is
saved and before its validation; a validation or test whose weights the
bank does not match rebuilds it first. A bank carries the iteration of the
weights that built it (saved in checkpoints with the model), so no pass
is repeated for the same weights and an exact ``--resume`` keeps the
checkpoint's bank.
"""
import copy
import time
from functools import partial
from typing import Callable, Iterable, List, Optional, Sequence, Union

import torch
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import FUNCTIONS
from torch.utils.data import DataLoader

from rrgkit.models.encoders import RetrievalEncoder
from rrgkit.registry import DATASETS, HOOKS

__all__ = ['RetrievalBankHook', 'refresh_retrieval_bank', 'retrieval_encoder']


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def retrieval_encoder(model) -> RetrievalEncoder:
    """The one :class:`RetrievalEncoder` inside ``model``.

    Raises:
        ValueError: When the model has none, or several.
    """
    found = [m for m in _unwrap(model).modules()
             if isinstance(m, RetrievalEncoder)]
    if len(found) != 1:
        raise ValueError(
            f'Expected one RetrievalEncoder in the model, found {len(found)};'
            " RetrievalBankHook needs model.encoder=dict(type="
            "'RetrievalEncoder', ...).")
    return found[0]


@torch.no_grad()
def refresh_retrieval_bank(model,
                           batches: Iterable[dict],
                           built_at: int = -1) -> int:
    """Rebuild the memory bank of ``model``'s retrieval encoder.

    Every image of ``batches`` is embedded by the model in eval mode
    (backbone, region proposer, then the encoder's projection) and its
    ``gt_report`` is encoded with the model's tokenizer (at most
    ``max_report_len`` tokens).

    Args:
        model: A report generator with a :class:`RetrievalEncoder`.
        batches (Iterable[dict]): Dataloader batches of the training split;
            samples need ``img_id`` and ``gt_report``.
        built_at (int): Training iteration of the current weights, stored
            with the bank. Defaults to -1 (unknown).

    Returns:
        int: The number of entries.
    """
    model = _unwrap(model)
    encoder = retrieval_encoder(model)
    was_training = model.training
    model.eval()
    keys: List[torch.Tensor] = []
    reports: List[str] = []
    image_ids: List[str] = []
    try:
        with encoder.collecting():
            for batch in batches:
                data = model.data_preprocessor(batch, False)
                visual, _ = model.extract_feat(data['inputs'])
                keys.append(visual.extras['retrieval_key'].float())
                for sample in data['data_samples']:
                    if sample.get('img_id') is None:
                        raise ValueError(
                            'refresh_retrieval_bank: a training sample has no'
                            ' img_id (needed to exclude an image from its '
                            "own neighbours); keep 'img_id' in "
                            'PackReportInputs.meta_keys.')
                    image_ids.append(str(sample.img_id))
                    reports.append(sample.gt_report)
    finally:
        model.train(was_training)
    if not keys:
        raise ValueError('refresh_retrieval_bank: the training split has no '
                         'images.')
    ids, _ = model.tokenizer.batch_encode(
        reports, max_len=encoder.max_report_len)
    encoder.set_bank(torch.cat(keys), ids, image_ids, built_at)
    return len(image_ids)


def _collate_fn(cfg) -> Callable:
    if cfg is None:
        return pseudo_collate
    if callable(cfg):
        return cfg
    cfg = dict(cfg)
    fn = cfg.pop('type')
    return partial(FUNCTIONS.get(fn) if isinstance(fn, str) else fn, **cfg)


@HOOKS.register_module()
class RetrievalBankHook(Hook):
    """Fill and refresh the memory bank of a ``RetrievalEncoder``.

    The bank is built from the training split of ``train_dataloader``
    read through the ``pipeline`` of another dataloader (the val pipeline
    by default: the images as validation sees them, without random
    augmentation), in order, with a private random generator, so building
    it changes no random stream of the run. Each rank builds the whole
    bank.

    Args:
        interval (int): Rebuild after every ``interval`` training epochs.
            A validation or test still rebuilds a bank that does not match
            its weights. Defaults to 1.
        pipeline (str | Sequence[dict]): ``'val'``, ``'test'`` or
            ``'train'`` (that dataloader's dataset pipeline), or a
            pipeline. Defaults to ``'val'``.
        batch_size (int, optional): Defaults to the training batch size.
        num_workers (int): DataLoader workers for the bank pass.
            Defaults to 0.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) saves the bank

    def __init__(self,
                 interval: int = 1,
                 pipeline: Union[str, Sequence[dict]] = 'val',
                 batch_size: Optional[int] = None,
                 num_workers: int = 0) -> None:
        if interval < 1:
            raise ValueError(f'RetrievalBankHook: interval must be >= 1, got '
                             f'{interval}')
        if isinstance(pipeline, str) and pipeline not in ('val', 'test',
                                                          'train'):
            raise ValueError("RetrievalBankHook: pipeline must be 'val', "
                             f"'test', 'train' or a list, got {pipeline!r}")
        self.interval = interval
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.num_workers = num_workers
        self._loader: Optional[DataLoader] = None
        self._checked = False

    def _build_loader(self, runner) -> DataLoader:
        train = runner.cfg.get('train_dataloader')
        if not train:
            raise ValueError('RetrievalBankHook builds the bank from the '
                             'config\'s train_dataloader, which is missing.')
        dataset = copy.deepcopy(train['dataset'])
        pipeline = self.pipeline
        if isinstance(pipeline, str):
            other = runner.cfg.get(f'{pipeline}_dataloader') or train
            pipeline = other['dataset'].get('pipeline', [])
        dataset['pipeline'] = copy.deepcopy(list(pipeline))
        return DataLoader(
            DATASETS.build(dataset),
            batch_size=self.batch_size or train['batch_size'],
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=_collate_fn(train.get('collate_fn')),
            generator=torch.Generator())

    def refresh(self, runner, built_at: int) -> None:
        """Rebuild the bank unless it already comes from ``built_at``."""
        bank = retrieval_encoder(runner.model).bank
        if len(bank) and bank.built_at == built_at:
            return
        if self._loader is None:
            self._loader = self._build_loader(runner)
        start = time.perf_counter()
        size = refresh_retrieval_bank(runner.model, self._loader, built_at)
        runner.logger.info(
            f'RetrievalBankHook: memory bank of {size} training reports '
            f'rebuilt from the weights of iteration {built_at} in '
            f'{time.perf_counter() - start:.1f} s')

    def before_train_epoch(self, runner) -> None:
        """Build the bank of a run's first epoch, unless the checkpoint a
        run resumed from brought the bank of that epoch's weights."""
        if self._checked:
            return
        self._checked = True
        self.refresh(runner, runner.epoch * len(runner.train_dataloader))

    def after_train_epoch(self, runner) -> None:
        """Rebuild every ``interval`` epochs (before the checkpoint)."""
        if (runner.epoch + 1) % self.interval == 0:
            self.refresh(runner, runner.iter)

    def before_val_epoch(self, runner) -> None:
        self.refresh(runner, runner.iter)

    def before_test_epoch(self, runner) -> None:
        self.refresh(runner, runner.iter)
