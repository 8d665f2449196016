# Copyright (c) rrgkit contributors. All rights reserved.
"""run_cli prints user errors as one line, even from a DataLoader worker."""
import pytest
from torch.utils.data import DataLoader, Dataset

from rrgkit.datasets import ImageDecodeError
from rrgkit.engine.hooks import NonFiniteLossError
from rrgkit.utils.setup_env import run_cli, user_message

MSG = "Cannot decode image 'x.png': bad. Re-export it."


class _Broken(Dataset):

    def __len__(self):
        return 1

    def __getitem__(self, i):
        raise ImageDecodeError(MSG)


def test_worker_traceback_is_stripped():
    with pytest.raises(ImageDecodeError) as err:
        next(iter(DataLoader(_Broken(), num_workers=1)))
    assert 'Original Traceback' in str(err.value)
    assert user_message(err.value) == MSG
    assert user_message(ValueError('plain')) == 'plain'


def test_run_cli_prints_one_line_and_exits_2(capsys):

    def main():
        raise NonFiniteLossError('loss is nan')

    with pytest.raises(SystemExit) as exit_:
        run_cli(main)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == 'error: loss is nan\n'
