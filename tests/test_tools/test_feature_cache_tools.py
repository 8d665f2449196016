# Copyright (c) rrgkit contributors. All rights reserved.
"""The feature cache from the tools: config, benchmark, error line."""
import re
import subprocess
import sys

from rrgkit.utils.setup_env import load_config
from .conftest import REPO, load_tool, tiny_synth_options

CACHED_NIC = 'configs/nic/nic_densenet121-cached_1xb16_30e_covctr_en.py'


def test_cached_nic_config_caches_densenet121_maps_at_224px():
    cfg = load_config(f'{REPO}/{CACHED_NIC}')
    assert cfg.model.backbone == dict(type='CachedFeatures',
                                      out_channels=1024)
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert dataset.feature_cache.backbone.arch == '121'
        assert dataset.feature_cache.prefix == 'backbone.'
        assert dataset.pipeline[1].scale == (224, 224)
        assert 'cache_images' not in dataset
    assert cfg.train_cfg.max_epochs == 30


def test_bench_feature_cache_on_tiny_synthetic_data(tmp_path, capsys):
    bench = load_tool('analysis/bench_feature_cache')
    bench.main([
        '--epochs', '2', '--cfg-options',
        *tiny_synth_options(tmp_path / 'cache')
    ])
    out = capsys.readouterr().out
    assert 'frozen DenseNet, 32 training records, batch 8' in out
    assert 'cached features per image: (10, 8, 8) float16' in out
    assert 'first use: 32 images computed' in out
    rows = re.findall(r'^ +(\d) +([\d.]+) +([\d.]+)$', out, re.M)
    assert [r[0] for r in rows] == ['1', '2']
    ratio = re.search(r'no cache / cache: ([\d.]+)x', out)
    assert ratio and float(ratio.group(1)) > 0


def test_missing_backbone_checkpoint_is_one_line(tmp_path):
    key = 'train_dataloader.dataset.feature_cache'
    options = tiny_synth_options(tmp_path / 'cache', 1) + [
        f'{key}.backbone.type=DenseNet', f'{key}.backbone.arch=121',
        f'{key}.checkpoint={tmp_path}/missing.pth'
    ]
    proc = subprocess.run([
        sys.executable, 'tools/train.py', 'configs/nic_synth.py', '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *options
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'error: feature_cache.checkpoint' in proc.stderr
    assert 'missing.pth' in proc.stderr and 'Traceback' not in proc.stderr
