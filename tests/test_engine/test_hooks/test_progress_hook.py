# Copyright (c) rrgkit contributors. All rights reserved.
from types import SimpleNamespace

from rrgkit.engine.hooks import RichProgressHook


def test_bar_counts_val_batches_and_closes(capsys):
    hook = RichProgressHook()
    runner = SimpleNamespace(epoch=2, val_dataloader=[0, 1, 2])
    hook.before_val_epoch(runner)
    for i in range(3):
        hook.after_val_iter(runner, i)
    task = hook._progress.tasks[0]
    assert (task.completed, task.total) == (3, 3)
    hook.after_val_epoch(runner, {})
    assert hook._progress is None
    err = capsys.readouterr().err
    assert 'val: generating reports (epoch 2)' in err and '3/3' in err


def test_test_bar_and_switches(capsys):
    hook = RichProgressHook(val=False)
    runner = SimpleNamespace(epoch=0, val_dataloader=[0],
                             test_dataloader=iter([0, 1]))  # no len()
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0)  # no bar: nothing happens
    assert hook._progress is None
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, 0)
    assert hook._progress.tasks[0].total is None
    assert hook._progress.tasks[0].completed == 1
    hook.after_test_epoch(runner)
    assert 'test: generating reports' in capsys.readouterr().err
