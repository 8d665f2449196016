# Copyright (c) rrgkit contributors. All rights reserved.
"""ResumableEpochBasedTrainLoop + ResumeStateHook on a tiny mmengine run.

A run that crashes (an exception standing in for a kill) and resumes from
its last checkpoint must end with the weights of an unbroken run, for a
checkpoint inside an epoch and one at the end of an epoch, before its
validation. The model has dropout, so the random streams must be restored.
"""
import itertools
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from rrgkit.engine.hooks import AtomicCheckpointHook, ResumeStateHook
from rrgkit.engine.loops import ResumableEpochBasedTrainLoop
from rrgkit.utils.checkpoint import safe_load_checkpoint

_NAMES = itertools.count()
# 10 samples at batch size 2: 5 iterations per epoch.
DATA = [dict(inputs=x) for x in torch.randn(
    10, 4, generator=torch.Generator().manual_seed(0))]


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.dropout = nn.Dropout(0.5)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(self.dropout(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=(out - 1).pow(2).mean())
        return list(out.detach())


class _MeanOutput(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results += [float(s) for s in data_samples]

    def compute_metrics(self, results):
        return dict(mean=sum(results) / len(results))


class _Crash(Hook):
    priority = 'LOWEST'

    def __init__(self, at_iter=None, before_val_epoch=None):
        self.at_iter = at_iter
        self.val_epoch = before_val_epoch

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at_iter:
            raise KeyboardInterrupt('crash')

    def before_val_epoch(self, runner):
        if runner.epoch == self.val_epoch:
            raise KeyboardInterrupt('crash')


def _run(work_dir, by_epoch, crash=None, resume=False):
    loader = dict(dataset=DATA, batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=True),
                  collate_fn=dict(type='pseudo_collate'))
    torch.manual_seed(0)
    runner = Runner(
        model=_Toy(),
        work_dir=str(work_dir),
        experiment_name=f'resumable{next(_NAMES)}',
        default_scope='rrgkit',
        train_dataloader=loader,
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler',
                                                 shuffle=False)),
        val_evaluator=dict(type=_MeanOutput),
        train_cfg=dict(type=ResumableEpochBasedTrainLoop, max_epochs=3),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(
            type=AtomicCheckpointHook, by_epoch=by_epoch,
            interval=1 if by_epoch else 3)),
        custom_hooks=[dict(type=ResumeStateHook)] + ([crash] if crash else []),
        randomness=dict(seed=0),
        resume=resume)
    runner.train()
    return runner


@pytest.mark.parametrize('by_epoch,crash', [
    (False, dict(at_iter=7)),  # after iter_6.pth: batch 2 of epoch 2
    (True, dict(before_val_epoch=1)),  # after epoch_1.pth, before its val
])
def test_crash_and_resume_match_an_unbroken_run(tmp_path, by_epoch, crash):
    whole = _run(tmp_path / 'whole', by_epoch)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / 'broken', by_epoch, crash=dict(type=_Crash, **crash))
    resumed = _run(tmp_path / 'broken', by_epoch, resume=True)
    assert resumed.iter == whole.iter == 15
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    # Every epoch was validated once, with the same result; with the crash
    # before epoch 1's validation, that validation ran after the resume.
    history = [r.message_hub.get_scalar('val/mean').data[0].tolist()
               for r in (whole, resumed)]
    assert len(history[0]) == 3
    assert history[0] == history[1]


def test_state_in_checkpoint_and_ignored_by_load_from(tmp_path):
    whole = _run(tmp_path / 'whole', by_epoch=True)
    ckpt = osp.join(tmp_path, 'whole', 'epoch_3.pth')
    state = safe_load_checkpoint(ckpt)['train_loop']
    assert state['phase'] in ('train', 'val')
    assert set(state['random_state']) >= {'python', 'numpy', 'torch'}
    hook = ResumeStateHook()
    whole._resume = False
    loop = whole.train_loop
    loop._resume_state = None
    hook.after_load_checkpoint(whole, safe_load_checkpoint(ckpt))
    assert loop._resume_state is None
