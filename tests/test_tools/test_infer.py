# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/infer.py on a tiny synthetic NIC model."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from rrgkit.utils.checkpoint import safe_load_checkpoint
from rrgkit.utils.setup_env import run_cli
from .conftest import REPO, load_tool, tiny_synth_options

CONFIG = osp.join(REPO, 'configs', 'nic_synth.py')


@pytest.fixture(scope='module')
def infer_tool():
    return load_tool('infer')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('infer')
    # lr 0.01: two epochs are then enough for a non-empty report.
    options = tiny_synth_options(root / 'cache') + [
        'optim_wrapper.optimizer.lr=0.01']
    load_tool('train').main([CONFIG, '--work-dir', str(root / 'work'),
                             '--cfg-options', *options])
    images = sorted((root / 'cache').glob('*/images'))[0]
    return root, str(root / 'work' / 'epoch_2.pth'), images, options


def _fail(tool, argv, capsys):
    """Run the tool as its __main__ does; return the exit code and stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        run_cli(lambda: tool.main(argv))
    # (Not checked for 'Traceback': mmengine's logger may still hold a
    # stream of an earlier test; the subprocess test below checks it.)
    return exc.value.code, capsys.readouterr().err.strip().splitlines()[-1]


def test_same_reports_as_test_tool_and_json_out(trained, infer_tool,
                                                capsys):
    root, ckpt, images, options = trained
    reports = root / 'reports.json'
    load_tool('test').main([CONFIG, ckpt, '--split', 'val', '--work-dir',
                            str(root / 'test'), '--out', str(reports),
                            '--cfg-options', *options])
    records = json.loads(reports.read_text())
    paths = [str(images / f'{r["id"]}.png') for r in records]
    out = root / 'infer.json'
    capsys.readouterr()
    infer_tool.main([ckpt, *paths, '--out', str(out), '--batch-size', '3'])
    printed = capsys.readouterr().out
    results = json.loads(out.read_text())
    assert [r['image'] for r in results] == paths
    assert [r['report'] for r in results] == [r['generated'] for r in
                                              records]
    assert all(r['report'].strip() for r in results)
    assert set(results[0]) == {'image', 'report', 'tags', 'conclusion',
                               'region_box', 'descriptions', 'input_shape',
                               'ori_shape', 'pictures'}
    assert osp.basename(paths[0]) in printed
    assert results[0]['report'].split()[0] in printed
    assert f'{len(paths)} result(s) written' in printed


def test_folder_argument(trained, infer_tool, tmp_path):
    _, ckpt, images, _ = trained
    out = tmp_path / 'sub' / 'folder.json'
    infer_tool.main([ckpt, str(images), '--out', str(out)])
    results = json.loads(out.read_text())
    names = [osp.basename(r['image']) for r in results]
    assert names == sorted(p.name for p in images.glob('*.png'))


def test_bad_input_exits_2_and_writes_nothing(trained, infer_tool, tmp_path,
                                              capsys):
    _, ckpt, images, _ = trained
    good = str(sorted(images.glob('*.png'))[0])
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\xff\xd8\xff\xe0 truncated jpeg')
    out = tmp_path / 'result.json'
    code, line = _fail(infer_tool, [ckpt, good, str(bad), '--out', str(out)],
                       capsys)
    assert code == 2 and line.startswith('error: ') and 'broken.png' in line
    code, line = _fail(infer_tool, [ckpt, str(tmp_path / 'gone.png'),
                                    '--out', str(out)], capsys)
    assert code == 2 and 'gone.png' in line
    code, line = _fail(infer_tool, [str(tmp_path / 'gone.pth'), good,
                                    '--out', str(out)], capsys)
    assert code == 2 and 'gone.pth' in line
    ckpt_data = safe_load_checkpoint(ckpt)
    bare = tmp_path / 'bare.pth'
    torch.save({'state_dict': ckpt_data['state_dict'], 'meta': {
        'rrgkit': ckpt_data['meta']['rrgkit']}}, bare)
    code, line = _fail(infer_tool, [str(bare), good, '--out', str(out)],
                       capsys)
    assert code == 2 and '--config' in line
    # No result file, and no temporary file left behind either.
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bare.pth',
                                                          'broken.png']


def test_corrupt_image_from_the_command_line(trained, tmp_path):
    _, ckpt, _, _ = trained
    bad = tmp_path / 'corrupt.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 64)
    out = tmp_path / 'out.json'
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', ckpt, str(bad), '--out', str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    line, = proc.stderr.strip().splitlines()
    assert line.startswith('error: Cannot decode image') and str(bad) in line
    assert not out.exists()
