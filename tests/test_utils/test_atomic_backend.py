# Copyright (c) rrgkit contributors. All rights reserved.
"""mmengine's checkpoint writes go through rrgkit's atomic local backend."""
import os

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

from rrgkit.utils.atomic_backend import AtomicLocalBackend
from rrgkit.utils.checkpoint import safe_load_checkpoint


def test_local_paths_get_the_atomic_backend(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path)), AtomicLocalBackend)


def test_crash_while_writing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint(dict(state_dict=dict(w=torch.zeros(3))), path)

    def power_cut(fd):
        raise OSError('power cut before the data reached the disk')

    # The new bytes are in the temp file when the crash hits.
    monkeypatch.setattr(os, 'fsync', power_cut)
    with pytest.raises(OSError, match='power cut'):
        save_checkpoint(dict(state_dict=dict(w=torch.ones(3))), path)
    monkeypatch.undo()
    assert torch.equal(safe_load_checkpoint(path)['state_dict']['w'],
                       torch.zeros(3))
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_put_text_is_atomic_too(tmp_path):
    backend = get_file_backend(str(tmp_path))
    backend.put_text('première', tmp_path / 'a' / 'b.txt')
    assert (tmp_path / 'a' / 'b.txt').read_text(encoding='utf-8') == \
        'première'
    assert os.listdir(tmp_path / 'a') == ['b.txt']
