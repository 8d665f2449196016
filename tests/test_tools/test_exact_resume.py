# Copyright (c) rrgkit contributors. All rights reserved.
"""A run SIGKILLed mid-epoch and resumed ends exactly like an unbroken run."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import torch

from rrgkit.utils.checkpoint import safe_load_checkpoint
from .conftest import REPO, tiny_synth_options

CONFIG = osp.join(REPO, 'configs', 'nic_synth.py')

# 40 synthetic images at batch size 8: 4 iterations per epoch, 8 in all.
# Checkpoints every 3 iterations (iter_3, iter_6, then iter_8 as the last);
# the killed run dies while training iteration 8, inside epoch 2, after
# iter_6.pth: 2 batches of epoch 2 are done, 1 more is lost with the kill.
KILL_AT_ITER = 7

CHILD = """
import importlib.util, os, signal, sys
sys.path.insert(0, {repo!r})
from rrgkit.engine.loops import ResumableEpochBasedTrainLoop as Loop
run_iter = Loop.run_iter

def run_iter_or_die(self, idx, data_batch):
    if self.iter == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)
    run_iter(self, idx, data_batch)

Loop.run_iter = run_iter_or_die
spec = importlib.util.spec_from_file_location('train', {train!r})
train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train)
train.main(sys.argv[1:])
"""


def _options(cache):
    return tiny_synth_options(cache, max_epochs=2) + [
        'train_cfg.val_interval=1', 'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=3', 'randomness.seed=0']


def _val_rows(work_dir):
    rows = []
    for scalars in sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(scalars) as f:
            rows += [json.loads(line) for line in f]
    return {row['step']: {k: v
                          for k, v in row.items() if k.startswith('report/')}
            for row in rows if 'report/CIDEr-D' in row}


def test_sigkill_mid_epoch_then_resume_is_exact(tmp_path, train_tool):
    cache = tmp_path / 'cache'
    whole, broken = str(tmp_path / 'whole'), str(tmp_path / 'broken')
    train_tool.main([CONFIG, '--work-dir', whole, '--cfg-options',
                     *_options(cache)])

    script = tmp_path / 'train_and_die.py'
    script.write_text(CHILD.format(
        repo=REPO, kill_at=KILL_AT_ITER,
        train=osp.join(REPO, 'tools', 'train.py')))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    child = subprocess.run(
        [sys.executable, str(script), CONFIG, '--work-dir', broken,
         '--cfg-options', *_options(cache)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    with open(osp.join(broken, 'last_checkpoint')) as f:
        assert f.read() == osp.join(broken, 'iter_6.pth')
    assert not osp.exists(osp.join(broken, 'iter_8.pth'))

    train_tool.main([CONFIG, '--work-dir', broken, '--resume',
                     '--cfg-options', *_options(cache)])
    logs = sorted(glob.glob(osp.join(broken, '*', '*.log')))
    with open(logs[-1]) as f:
        assert 'skipping its first 2 batches' in f.read()

    a = safe_load_checkpoint(osp.join(whole, 'iter_8.pth'))
    b = safe_load_checkpoint(osp.join(broken, 'iter_8.pth'))
    assert a['meta']['iter'] == b['meta']['iter'] == 8
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b['state_dict'][key]), key
        else:
            assert value == b['state_dict'][key], key
    for key, value in a['optimizer']['state'].items():
        for name, tensor in value.items():
            assert torch.equal(tensor, b['optimizer']['state'][key][name])
    val_a, val_b = _val_rows(whole), _val_rows(broken)
    assert sorted(val_a) == [1, 2]
    assert val_a == val_b
