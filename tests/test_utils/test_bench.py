# Copyright (c) rrgkit contributors. All rights reserved.
"""The benchmark helpers, with a real mmengine Runner on a tiny model."""
import copy

import pytest
import torch
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from rrgkit.models.tokenizers import ReportTokenizer
from rrgkit.structures import ReportDataSample
from rrgkit.utils.bench import (clone_optimizer, interleaved_times, median,
                                prepare_train, run_train_iter)

REPORTS = ['the heart is normal .', 'a nodule in the right lung .']


class _TinyReports(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        img = torch.full((3, 32, 32), 40 * i, dtype=torch.uint8)
        sample = ReportDataSample().set_gt_report(REPORTS[i % 2])
        return dict(inputs=img, data_samples=sample)


def _runner(work_dir, train_cfg):
    return Runner(
        model=dict(
            type='ReportGenerator',
            backbone=dict(
                type='DenseNet',
                arch=dict(growth_rate=4, depths=[1, 1], init_channels=8)),
            decoder=dict(type='LSTMDecoder', embed_dims=8, hidden_dims=16),
            tokenizer=ReportTokenizer().build_vocab(REPORTS),
            max_len=12),
        work_dir=str(work_dir),
        experiment_name=f'bench_{train_cfg.get("type", "epoch")}',
        default_scope='rrgkit',
        train_dataloader=dict(
            dataset=_TinyReports(), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=train_cfg,
        optim_wrapper=dict(
            optimizer=dict(type='Adam', lr=1e-2),
            clip_grad=dict(max_norm=1.0)),
        default_hooks=dict(checkpoint=None))


@pytest.mark.parametrize('train_cfg', [
    dict(by_epoch=True, max_epochs=1),
    dict(type='IterBasedTrainLoop', max_iters=2)
])
def test_prepare_train_and_run_train_iter(tmp_path, train_cfg):
    runner = _runner(tmp_path, train_cfg)
    prepare_train(runner)
    assert runner.model.training
    batch = next(iter(runner.train_dataloader))
    weight = runner.model.backbone.stem[0].weight
    before = weight.detach().clone()
    for idx in range(2):
        run_train_iter(runner, batch, idx)
    assert runner.iter == 2  # the loop counted its iterations
    times = runner.message_hub.get_scalar('train/time').data[0]
    assert len(times) == 2 and (times > 0).all()  # IterTimerHook ran
    assert 'train/grad_norm' in runner.message_hub.log_scalars  # clipped
    assert not torch.equal(weight, before)  # the optimizer stepped


def test_clone_optimizer_matches_groups_by_name():
    source = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    opt = torch.optim.SGD([
        dict(params=source[1].parameters(), lr=0.5),
        dict(params=source[0].parameters())
    ], lr=0.1, momentum=0.9)
    target = copy.deepcopy(source)
    clone = clone_optimizer(opt, source, target)
    assert type(clone) is torch.optim.SGD
    assert [g['lr'] for g in clone.param_groups] == [0.5, 0.1]
    assert clone.param_groups[0]['params'][0] is target[1].weight
    assert clone.param_groups[1]['params'][1] is target[0].bias
    assert clone.param_groups[1]['momentum'] == 0.9 and not clone.state


def test_interleaved_times_alternates_blocks():
    calls = []
    fns = {name: (lambda n=name: calls.append(n)) for name in 'ab'}
    times = interleaved_times(fns, steps=2, repeats=3)
    assert ''.join(calls) == 'aabb' + 'bbaa' + 'aabb'
    assert [len(times[n]) for n in 'ab'] == [6, 6]
    assert all(t >= 0 for t in times['a'])
    assert median([3.0, 1.0, 2.0]) == 2.0
