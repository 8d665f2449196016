# Copyright (c) rrgkit contributors. All rights reserved.
"""mmengine's FlexibleRunner with rrgkit's strategies, on two CPU processes.

torchrun starts tools/train.py twice (gloo) with
``runner_type='FlexibleRunner'`` and a ``ReportDDPStrategy`` or
``ReportFSDPStrategy``; a one-process ``tools/test.py`` (plain Runner) then
scores the checkpoint. A driver wraps the tool to save each rank's final
weights, so the test can check that the ranks trained one model.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from rrgkit.utils.checkpoint import safe_load_checkpoint
from .conftest import REPO
from .test_distributed import CONFIG, NPROC, NUM_TEST, _free_port, _options

EPOCHS, ITERS_PER_EPOCH = 2, 9  # 36 training images / (2 ranks * batch 2)

# Runs tools/train.py and saves this rank's final parameters. (Buffers,
# i.e. BatchNorm statistics, stay per rank: mmengine's DDP wrapper is built
# with broadcast_buffers=False; the checkpoint holds rank 0's.)
DRIVER = '''
import importlib.util, os, sys
import torch
spec = importlib.util.spec_from_file_location('train_tool', sys.argv[1])
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)
runners = []
build = tool.build_runner
tool.build_runner = lambda cfg: runners.append(build(cfg)) or runners[-1]
tool.main(sys.argv[2:])
model = runners[0].model
model = getattr(model, 'module', model)
state = {k: v.detach() for k, v in model.named_parameters()}
torch.save(state, os.path.join(os.environ['RANK_STATE_DIR'],
                               'rank%s.pth' % os.environ['RANK']))
'''


def _train(root, strategy):
    """Train with ``strategy`` on NPROC CPU processes; return the log."""
    driver = root / 'driver.py'
    driver.write_text(DRIVER)
    opts = _options(root / 'cache') + [
        f'train_cfg.max_epochs={EPOCHS}', f'train_cfg.val_interval={EPOCHS}',
        'runner_type=FlexibleRunner', *strategy]
    cmd = [sys.executable, '-m', 'torch.distributed.run',
           f'--nproc_per_node={NPROC}', '--master_addr=127.0.0.1',
           f'--master_port={_free_port()}', str(driver),
           osp.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir',
           str(root / 'train'), '--launcher', 'pytorch', '--cfg-options',
           *opts]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1',
               RANK_STATE_DIR=str(root))
    proc = subprocess.run(cmd, cwd=str(root), env=env, capture_output=True,
                          text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def _check_checkpoint_scores(root, test_tool):
    """The last checkpoint is a plain one that tools/test.py scores."""
    ckpt_path = osp.join(root, 'train', f'epoch_{EPOCHS}.pth')
    ckpt = safe_load_checkpoint(ckpt_path)
    assert ckpt['meta']['iter'] == EPOCHS * ITERS_PER_EPOCH
    assert ckpt['state_dict']['vocab._extra_state']['tokens']
    out = str(root / 'test')
    test_tool.main([CONFIG, ckpt_path, '--work-dir', out, '--cfg-options',
                    *_options(root / 'cache')])
    paths = glob.glob(osp.join(out, '*', 'metrics.json'))
    assert len(paths) == 1, paths
    with open(paths[0]) as f:
        summary = json.load(f)
    assert summary['signature']['num_images'] == NUM_TEST
    assert summary['metrics']['report/BLEU-1'] > 0
    return ckpt


def test_flexible_runner_ddp_strategy_on_cpu(tmp_path, test_tool):
    log = _train(tmp_path, ['strategy.type=ReportDDPStrategy'])
    assert "using 'gloo'" in log
    run_log = glob.glob(osp.join(tmp_path, 'train', '*', '*.log'))[0]
    with open(run_log) as f:
        assert 'Distributed training: True' in f.read()
    ckpt = _check_checkpoint_scores(tmp_path, test_tool)
    rank0 = torch.load(tmp_path / 'rank0.pth')
    rank1 = torch.load(tmp_path / 'rank1.pth')
    assert rank0.keys() == rank1.keys() and len(rank0) > 10
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key
        assert torch.equal(value, ckpt['state_dict'][key]), key


def test_flexible_runner_fsdp_strategy_on_cpu(tmp_path, test_tool):
    _train(tmp_path, ['strategy.type=ReportFSDPStrategy',
                      'strategy.state_dict_cfg=full'])
    _check_checkpoint_scores(tmp_path, test_tool)


if __name__ == '__main__':
    pytest.main([__file__, '-q'])
