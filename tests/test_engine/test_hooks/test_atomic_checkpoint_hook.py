# Copyright (c) rrgkit contributors. All rights reserved.
"""A crash while saving never costs the previous checkpoint or its pointer."""
import itertools
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

from rrgkit.engine.hooks import AtomicCheckpointHook
from rrgkit.utils.checkpoint import safe_load_checkpoint

_NAMES = itertools.count()


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def _runner(work_dir, **hook):
    return Runner(
        model=_Toy(),
        work_dir=str(work_dir),
        experiment_name=f'atomic{next(_NAMES)}',
        default_scope='rrgkit',
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(2))] * 4, batch_size=1,
            num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type=AtomicCheckpointHook,
                                           **hook)))


def _crash_on_save(monkeypatch, after):
    """``torch.save`` works ``after`` times, then writes a bit and dies."""
    calls = itertools.count()
    save = torch.save

    def flaky_save(obj, f, *args, **kwargs):
        if next(calls) < after:
            return save(obj, f, *args, **kwargs)
        f.write(b'PK\x03\x04 half a checkpoint')
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(torch, 'save', flaky_save)


def _pointer(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read()


def test_crash_mid_save_keeps_last_checkpoint_and_pointer(
        tmp_path, monkeypatch):
    # max_keep_ckpts=1: mmengine deletes iter_2.pth before saving iter_3.pth.
    runner = _runner(tmp_path, by_epoch=False, interval=1, max_keep_ckpts=1)
    _crash_on_save(monkeypatch, after=2)
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    assert _pointer(tmp_path) == osp.join(tmp_path, 'iter_2.pth')
    assert safe_load_checkpoint(_pointer(tmp_path))['meta']['iter'] == 2
    files = os.listdir(tmp_path)
    assert [f for f in files if f.endswith('.pth')] == ['iter_2.pth']
    assert not [f for f in files if f.endswith('.tmp')]


def test_old_checkpoints_are_removed_after_the_new_save(tmp_path):
    _runner(tmp_path, by_epoch=False, interval=1, max_keep_ckpts=2).train()
    assert _pointer(tmp_path) == osp.join(tmp_path, 'iter_4.pth')
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == [
        'iter_3.pth', 'iter_4.pth']


def test_crash_while_saving_a_new_best_keeps_the_old_best(
        tmp_path, monkeypatch):
    runner = _runner(tmp_path, by_epoch=False, interval=1,
                     save_best='acc', rule='greater')
    hook = next(h for h in runner.hooks
                if isinstance(h, AtomicCheckpointHook))
    hook.before_train(runner)
    hook._save_best_checkpoint(runner, dict(acc=0.5))
    runner.train_loop._iter = 1
    hook._save_best_checkpoint(runner, dict(acc=0.7))
    best = osp.join(tmp_path, 'best_acc_iter_1.pth')
    assert [f for f in os.listdir(tmp_path) if f.startswith('best')] == [
        'best_acc_iter_1.pth']  # the old best goes once the new one is saved
    runner.train_loop._iter = 2
    _crash_on_save(monkeypatch, after=0)
    with pytest.raises(KeyboardInterrupt):
        hook._save_best_checkpoint(runner, dict(acc=0.9))
    assert safe_load_checkpoint(best)['meta']['iter'] == 1
    assert [f for f in os.listdir(tmp_path) if f.startswith('best')] == [
        'best_acc_iter_1.pth']
