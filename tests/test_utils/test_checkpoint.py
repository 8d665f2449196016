# Copyright (c) rrgkit contributors. All rights reserved.
import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader

import rrgkit  # noqa: F401 (installs the safe loader)
from rrgkit.utils.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                     check_checkpoint_fits_model,
                                     safe_load_checkpoint)


class _RunsCode:
    """Unpickling this would create a file: a stand-in for malware."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCode(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        safe_load_checkpoint(str(path))
    assert 'evil.pth' in str(err.value)
    assert 'allowlist' in str(err.value)
    # The mmengine path (load_from, --resume, tools/test.py) refuses too.
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path))
    assert not marker.exists()


def test_mmengine_style_checkpoint_loads(tmp_path):
    hub = MessageHub('rrgkit-test-ckpt')
    hub.update_scalar('train/loss', 1.5)
    hub.update_info('seed', np.int64(3))
    path = tmp_path / 'ok.pth'
    ckpt = dict(
        meta=dict(epoch=1, iter=10, seed=np.int64(3)),
        state_dict={'w': torch.ones(2)},
        message_hub=hub.state_dict(),
        history=HistoryBuffer([1.0, 2.0], [1, 1]),
        arr=np.arange(3, dtype=np.float32))
    torch.save(ckpt, path)
    loaded = CheckpointLoader.load_checkpoint(str(path))
    assert loaded['meta']['iter'] == 10
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert loaded['history'].mean() == pytest.approx(1.5)
    # Outside the loader the strict default is untouched.
    with pytest.raises(Exception):
        torch.load(path)


def test_one_cycle_scheduler_state_loads(tmp_path):
    # OneCycleLR keeps its annealing function in its state_dict.
    from mmengine.optim import OneCycleLR
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    sched = OneCycleLR(opt, eta_max=0.1, total_steps=10)
    sched.step()
    path = tmp_path / 'onecycle.pth'
    torch.save(dict(param_schedulers=[sched.state_dict()]), path)
    loaded = safe_load_checkpoint(str(path))
    state = loaded['param_schedulers'][0]
    assert state['last_step'] == sched.last_step
    assert state['anneal_func'].__name__ == sched.anneal_func.__name__


def test_missing_and_truncated_files_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_load_checkpoint(str(tmp_path / 'nope.pth'))
    path = tmp_path / 'cut.pth'
    torch.save({'state_dict': {'w': torch.ones(100)}}, path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match='cut.pth'):
        safe_load_checkpoint(str(path))


def test_checkpoint_of_another_model_is_refused():
    model = torch.nn.Linear(3, 2)
    check_checkpoint_fits_model(model, {'state_dict': model.state_dict()},
                                'same.pth')
    other = torch.nn.Linear(4, 2).state_dict()
    with pytest.raises(CheckpointError, match='other shapes'):
        check_checkpoint_fits_model(model, {'state_dict': other}, 'x.pth')
    with pytest.raises(CheckpointError, match='no parameter'):
        check_checkpoint_fits_model(model, {'state_dict': {'a.b': 1}},
                                    'y.pth')
    assert not os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
