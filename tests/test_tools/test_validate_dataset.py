# Copyright (c) rrgkit contributors. All rights reserved.
"""tools/analysis/validate_dataset.py: every problem listed, exit 1 or 0."""
import pytest

from ..test_datasets.test_validation import write_dataset
from .conftest import load_tool

CONFIG = '''
data_root = 'nowhere'
_ds = dict(type='ReportDataset', data_root=data_root,
           ann_file='annotation.json', language='english')
train_dataloader = dict(dataset=dict(**_ds, split='train'))
val_dataloader = dict(dataset=dict(**_ds, split='val'))
test_dataloader = dict(dataset=dict(**_ds, split='test'))
'''


@pytest.fixture(scope='module')
def tool():
    return load_tool('analysis/validate_dataset')


def _run(tool, tmp_path, broken, *extra):
    root = write_dataset(tmp_path / 'data', broken=broken)
    (tmp_path / 'cfg.py').write_text(CONFIG)
    return tool.main([str(tmp_path / 'cfg.py'), '--data-root', str(root),
                      '--no-progress', *extra])


def test_broken_dataset_fails_listing_all_problems(tool, tmp_path, capsys):
    assert _run(tool, tmp_path, True) == 1
    out = capsys.readouterr().out
    assert 'records: train 9, val 2, test 3' in out
    for line in ('[error] missing image: image file not found: ',
                 "[error] undecodable image: Cannot decode image '",
                 "[error] empty report: split 'train' record #7",
                 "[error] duplicate id: split 'train': id 'b'",
                 "[error] id in two splits: id 'c'",
                 "[error] malformed record: split 'train' record #9"):
        assert line in out
    assert out.count('[error]') == 7
    assert out.rstrip().endswith('FAILED: 7 error(s), 0 warning(s); fix '
                                 'them before training.')


def test_clean_dataset_passes(tool, tmp_path, capsys):
    assert _run(tool, tmp_path, False) == 0
    out = capsys.readouterr().out
    assert 'no problems found' in out
    assert out.rstrip().endswith('OK: 0 errors, 0 warning(s).')


def test_one_split_without_images(tool, tmp_path, capsys):
    assert _run(tool, tmp_path, True, '--split', 'val', '--no-images') == 1
    out = capsys.readouterr().out
    assert 'records: val 2\n' in out  # ids still compared with 'test'
    assert "[error] id in two splits: id 'c' is in splits ['test', 'val']" \
        in out and out.count('[error]') == 1
