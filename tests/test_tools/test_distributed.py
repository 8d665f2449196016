# Copyright (c) rrgkit contributors. All rights reserved.
"""Distributed (DDP) training and testing through mmengine's launcher.

Two CPU processes (gloo) started by torchrun train a tiny NIC on the
synthetic data; tools/test.py then evaluates the checkpoint with two
processes and with one, and both must give the same scores on the same,
complete set of reports.
"""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from rrgkit.utils.checkpoint import safe_load_checkpoint
from .conftest import LOADERS, REPO, loader_options

CONFIG = osp.join(REPO, 'configs', 'nic_synth.py')
NPROC = 2
# 46 images split 0.8/0.1/0.1: 36 train, 5 val, 5 test. 5 is odd, so the
# distributed sampler pads the last rank with a duplicate of image 0.
NUM_IMAGES, NUM_TRAIN, NUM_TEST = 46, 36, 5
BATCH, EPOCHS = 2, 4


def _options(cache_root):
    data = dict(num_images=NUM_IMAGES, image_size=32,
                cache_root=str(cache_root))
    opts = [f'train_cfg.max_epochs={EPOCHS}',
            f'train_cfg.val_interval={EPOCHS}',
            'optim_wrapper.optimizer.lr=0.01', 'param_scheduler=[]',
            'model.backbone.arch.growth_rate=4',
            'model.backbone.arch.depths=[1,1]',
            'model.backbone.arch.init_channels=8',
            'model.decoder.embed_dims=16', 'model.decoder.hidden_dims=32',
            'model.max_len=30', 'model.beam_size=1',
            'model.tokenizer.min_freq=1', 'default_hooks.logger.interval=1',
            # Whitespace tokenization: no Java start-up in every process.
            'val_evaluator.eval_tokenizer=whitespace',
            'test_evaluator.eval_tokenizer=whitespace',
            'test_evaluator.scores=[BLEU,ROUGE_L,CIDEr]']
    opts += loader_options(batch_size=BATCH)
    for key in LOADERS + ['model.tokenizer.corpus']:
        opts += [f'{key}.{k}={v}' for k, v in data.items()]
    return opts


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _torchrun(tool, args, cwd):
    """Run ``tools/<tool>.py`` in NPROC processes; return its output."""
    cmd = [sys.executable, '-m', 'torch.distributed.run',
           f'--nproc_per_node={NPROC}', '--master_addr=127.0.0.1',
           f'--master_port={_free_port()}',
           osp.join(REPO, 'tools', f'{tool}.py'), *args, '--launcher',
           'pytorch']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def _summary(out_dir):
    paths = glob.glob(osp.join(out_dir, '*', 'metrics.json'))
    assert len(paths) == 1, paths
    with open(paths[0]) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def ddp_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('ddp')
    opts = _options(root / 'cache')
    work_dir = str(root / 'train')
    log = _torchrun('train', [CONFIG, '--work-dir', work_dir,
                              '--cfg-options', *opts], cwd=str(root))
    return root, work_dir, opts, log


def test_ddp_training_uses_gloo_and_shards_the_data(ddp_run):
    _, work_dir, _, log = ddp_run
    assert "using 'gloo'" in log
    ckpt = safe_load_checkpoint(osp.join(work_dir, f'epoch_{EPOCHS}.pth'))
    # Each rank saw half of the training split per epoch.
    assert ckpt['meta']['iter'] == EPOCHS * NUM_TRAIN // (NPROC * BATCH)
    with open(osp.join(work_dir, 'vocab.json'), encoding='utf-8') as f:
        assert json.load(f)['tokens'] == \
            ckpt['state_dict']['vocab._extra_state']['tokens']
    # Only rank 0 writes; no temp file of a concurrent write is left over.
    assert not glob.glob(osp.join(work_dir, '.*.tmp'))
    assert glob.glob(osp.join(work_dir, 'best_report_CIDEr-D_*.pth'))
    run_log = glob.glob(osp.join(work_dir, '*', '*.log'))[0]
    with open(run_log) as f:
        text = f.read()
    assert 'Distributed training: True' in text
    assert f'ReportMetric: scored {NUM_TEST} images' in text  # val: 5 too


def test_ddp_test_scores_the_full_set_once(ddp_run, test_tool):
    root, work_dir, opts, _ = ddp_run
    ckpt = osp.join(work_dir, f'epoch_{EPOCHS}.pth')
    out2, out1 = str(root / 'test2'), str(root / 'test1')
    log = _torchrun('test', [CONFIG, ckpt, '--work-dir', out2, '--out',
                             str(root / 'reports2.json'), '--cfg-options',
                             *opts], cwd=str(root))
    test_tool.main([CONFIG, ckpt, '--work-dir', out1, '--out',
                    str(root / 'reports1.json'), '--cfg-options', *opts])
    ddp, single = _summary(out2), _summary(out1)
    assert ddp['metrics'] == single['metrics']  # exact, not approximate
    assert ddp['metrics']['report/BLEU-1'] > 0
    assert ddp['signature']['num_images'] == NUM_TEST
    # mmengine trimmed the sampler's padding before ReportMetric saw it.
    assert f'ReportMetric: scored {NUM_TEST} images' in log
    assert 'duplicate ids dropped' not in log
    with open(root / 'reports2.json', encoding='utf-8') as f:
        reports2 = json.load(f)
    with open(root / 'reports1.json', encoding='utf-8') as f:
        reports1 = json.load(f)
    assert len(reports2) == len({r['id'] for r in reports2}) == NUM_TEST
    assert reports2 == reports1
    # Rank 0 alone wrote the results: one run folder, one reports file.
    assert len(glob.glob(osp.join(out2, '*', 'generated_reports.json'))) == 1
