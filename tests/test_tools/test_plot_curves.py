# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/analysis/plot_curves.py on crafted mmengine scalars.json logs."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from .conftest import REPO, load_tool

plot = load_tool('analysis/plot_curves')


def _train(it, epoch, loss, **extra):
    return dict(lr=1e-3, data_time=0.01, loss=loss, loss_report=loss - 0.5,
                time=0.2, epoch=epoch, iter=it, step=it, **extra)


def _val(epoch, cider):
    return {'report/BLEU-4': cider / 2, 'report/CIDEr-D': cider,
            'data_time': 0.1, 'time': 0.5, 'step': epoch}


def _write(work_dir, stamp, rows):
    folder = work_dir / stamp / 'vis_data'
    folder.mkdir(parents=True)
    path = folder / 'scalars.json'
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return path


@pytest.fixture
def runs(tmp_path):
    """run_a: 2 epochs of 2 iterations; run_b: the same, resumed at iter 2
    (its second log rewrites iteration 2)."""
    a, b = tmp_path / 'run_a', tmp_path / 'run_b'
    _write(a, '20260101_000000', [
        _train(1, 1, 3.0, loss_tag=0.4), _train(2, 1, 2.5, loss_tag=0.3),
        _val(1, 0.1),
        _train(3, 2, 2.0, loss_tag=0.2), _train(4, 2, 1.5, loss_tag=0.1),
        _val(2, 0.3)])
    _write(b, '20260101_000000', [_train(1, 1, 4.0), _train(2, 1, 9.9)])
    _write(b, '20260102_000000', [
        _train(2, 1, 3.5), _val(1, 0.05), _train(3, 2, 3.0),
        _train(4, 2, 2.5), _val(2, 0.2)])
    return a, b


def test_split_curves_axes_and_values(runs):
    a, b = runs
    rows = [r for p in plot.find_scalars(str(b)) for r in plot.load_rows(p)]
    curves = plot.split_curves(rows)
    assert curves['loss'] == ('iteration', ([1, 2, 3, 4],
                                            [4.0, 3.5, 3.0, 2.5]))
    assert curves['loss_report'][1][1] == [3.5, 3.0, 2.5, 2.0]
    assert curves['report/CIDEr-D'] == ('epoch', ([1, 2], [0.05, 0.2]))
    # Keys of training rows stay on the iteration axis.
    assert curves['time'][0] == 'iteration'
    assert curves['time'][1][0] == [1, 2, 3, 4]
    assert 'epoch' not in curves and 'iter' not in curves


def test_iteration_based_validation_uses_iterations():
    rows = [dict(lr=0.1, loss=1.0, iter=50, step=50),
            {'report/CIDEr-D': 0.2, 'step': 50}]
    curves = plot.split_curves(rows)
    assert curves['report/CIDEr-D'] == ('iteration', ([50], [0.2]))


def test_default_keys():
    keys = ['lr', 'loss_tag', 'loss', 'report/CIDEr-D', 'loss_report',
            'report/BLEU-4']
    assert plot.default_keys(keys) == [
        'loss', 'loss_report', 'loss_tag', 'report/CIDEr-D']


def _colour_present(image, hex_colour):
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(image.convert('RGB')).reshape(-1, 3)
    return bool((np.abs(pixels.astype(int) - rgb).sum(1) <= 6).any())


def test_default_plot_is_a_png_of_the_expected_size(runs, tmp_path):
    a, b = runs
    out = str(tmp_path / 'curves.png')
    assert plot.main([str(a), str(b), '--out', out]) == out
    with Image.open(out) as image:
        assert image.format == 'PNG'
        # loss, loss_report, loss_tag, report/CIDEr-D: 2 x 2 panels of
        # 5 x 3.5 inches at 100 dpi.
        assert image.size == (1000, 700)
        # One line per run: matplotlib's first two colours are drawn.
        assert _colour_present(image, '#1f77b4')
        assert _colour_present(image, '#ff7f0e')


def test_a_run_keeps_its_colour(runs, tmp_path):
    a, b = runs
    out = str(tmp_path / 'tag.png')
    # loss_tag is only in run_a; run_b comes first and keeps colour C0.
    plot.main([str(b), str(a), '--keys', 'loss_tag', '--out', out])
    with Image.open(out) as image:
        assert _colour_present(image, '#ff7f0e')
        assert not _colour_present(image, '#1f77b4')


def test_chosen_keys_size_and_scalars_file_as_run(runs, tmp_path):
    a, _ = runs
    out = str(tmp_path / 'one.png')
    scalars = osp.join(str(a), '20260101_000000', 'vis_data', 'scalars.json')
    plot.main([scalars, '--keys', 'report/BLEU-4', '--out', out,
               '--dpi', '50'])
    with Image.open(out) as image:
        assert image.size == (250, 175)
        assert _colour_present(image, '#1f77b4')
        assert not _colour_present(image, '#ff7f0e')  # one run only
    assert plot._run_names([scalars], None) == ['run_a']
    out3 = str(tmp_path / 'three.png')
    plot.main([str(a), '--keys', 'loss', 'lr', 'report/CIDEr-D', '--out',
               out3, '--cols', '3'])
    with Image.open(out3) as image:
        assert image.size == (1500, 350)


def test_run_names(runs, tmp_path):
    a, b = runs
    assert plot._run_names([str(a), str(b)], None) == ['run_a', 'run_b']
    assert plot._run_names([str(a), str(b)], ['x', 'y']) == ['x', 'y']
    other = tmp_path / 'other' / 'run_a'
    assert plot._run_names([str(a), str(other)], None) == [
        osp.normpath(str(a)), osp.normpath(str(other))]
    with pytest.raises(plot.CurveLogError, match='1 --names for 2 runs'):
        plot._run_names([str(a), str(b)], ['x'])


def test_run_without_logs_is_named(runs, tmp_path):
    a, _ = runs
    empty = tmp_path / 'empty_run'
    empty.mkdir()
    with pytest.raises(plot.CurveLogError) as err:
        plot.main([str(a), str(empty), '--out', str(tmp_path / 'x.png')])
    assert f"run '{empty}' has no scalars.json" in str(err.value)
    with pytest.raises(plot.CurveLogError, match='does not exist'):
        plot.main([str(tmp_path / 'missing'), '--out',
                   str(tmp_path / 'x.png')])
    assert not osp.exists(tmp_path / 'x.png')


def test_unknown_key_lists_available_keys(runs, tmp_path):
    a, b = runs
    with pytest.raises(plot.CurveLogError) as err:
        plot.main([str(a), str(b), '--keys', 'loss', 'report/CIDEr',
                   '--out', str(tmp_path / 'x.png')])
    message = str(err.value)
    assert message.startswith('key(s) report/CIDEr in no run')
    assert 'available keys: data_time, loss, loss_report, loss_tag, lr, ' \
        'report/BLEU-4, report/CIDEr-D, time.' in message


def test_bad_line_is_named(tmp_path):
    path = _write(tmp_path / 'run', '20260101_000000', [_train(1, 1, 1.0)])
    with open(path, 'a') as f:
        f.write('{"loss": 1.0,\n')
    with pytest.raises(plot.CurveLogError,
                       match=r'scalars.json, line 2: not JSON'):
        plot.main([str(tmp_path / 'run'), '--out', str(tmp_path / 'x.png')])


def test_cli_prints_the_error_and_exits_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'analysis',
                                  'plot_curves.py'), str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: run '{tmp_path}' has no "
                                  'scalars.json')
