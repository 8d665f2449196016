# Copyright (c) rrgkit contributors. All rights reserved.
"""The tools print input errors as one clear line and exit with status 2."""
import shutil
import subprocess
import sys

from .conftest import REPO


def _run(*args):
    return subprocess.run([sys.executable, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_unknown_component_in_a_config(tmp_path):
    configs = tmp_path / 'configs'
    shutil.copytree(f'{REPO}/configs', configs)
    cfg = configs / 'typo.py'
    cfg.write_text('from mmengine.config import read_base\n'
                   'with read_base():\n'
                   '    from .nic_synth import *\n'
                   "model['decoder']['type'] = 'LSTMDecodr'\n")
    proc = _run('tools/train.py', str(cfg), '--work-dir',
                str(tmp_path / 'w'))
    assert proc.returncode == 2
    assert 'typo.py' in proc.stderr
    assert "model.decoder.type = 'LSTMDecodr'" in proc.stderr
    assert "Did you mean 'LSTMDecoder'" in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_missing_checkpoint_for_test_tool(tmp_path):
    proc = _run('tools/test.py', 'configs/nic_synth.py',
                str(tmp_path / 'missing.pth'), '--work-dir',
                str(tmp_path / 'w'))
    assert proc.returncode == 2
    assert 'missing.pth' in proc.stderr and 'Traceback' not in proc.stderr


def test_unknown_decoding_option_for_test_tool(tmp_path):
    # Checked when the config is loaded: before the checkpoint or any data.
    proc = _run('tools/test.py', 'configs/nic_synth.py',
                str(tmp_path / 'missing.pth'), '--work-dir',
                str(tmp_path / 'w'), '--cfg-options',
                'model.decode_cfg.no_repeat_ngram=3')
    assert proc.returncode == 2
    assert ("error: unknown option model.decode_cfg.no_repeat_ngram (did "
            "you mean 'no_repeat_ngram_size'?)") in proc.stderr
    assert 'missing.pth' not in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_missing_pretrained_backbone_weights_for_train_tool(tmp_path):
    proc = _run('tools/train.py', 'configs/nic_synth.py', '--work-dir',
                str(tmp_path / 'w'), '--cfg-options',
                'model.backbone.init_cfg.type=Pretrained',
                f'model.backbone.init_cfg.checkpoint={tmp_path}/gone.pth')
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: Pretrained checkpoint '{tmp_path}/gone.pth' does not "
        'exist; give a local file, an http(s):// URL or torchvision://NAME '
        "(init_cfg=dict(type='Pretrained', checkpoint=...)).")
    assert 'Traceback' not in proc.stderr


def test_incomplete_cached_features_for_train_tool(tmp_path):
    # Checked when the config is loaded, before any data is read.
    proc = _run('tools/train.py', 'configs/nic_synth.py', '--work-dir',
                str(tmp_path / 'w'), '--cfg-options',
                f'cached_features.checkpoint={tmp_path}/bb.pth')
    assert proc.returncode == 2
    assert "cached_features has no ['out_channels']" in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'w').exists()
