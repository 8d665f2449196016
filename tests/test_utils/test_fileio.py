# Copyright (c) rrgkit contributors. All rights reserved.
import json
import os

import pytest

from rrgkit.utils.fileio import atomic_write, atomic_write_json


def test_atomic_write_json_round_trip(tmp_path):
    path = tmp_path / 'sub' / 'a.json'
    atomic_write_json({'x': '磨玻璃'}, path)
    assert json.loads(path.read_text(encoding='utf-8')) == {'x': '磨玻璃'}
    assert os.listdir(path.parent) == ['a.json']


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / 'a.json'
    atomic_write_json([1], path)

    def broken(f):
        f.write(b'[2, ')
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        atomic_write(path, broken)
    assert json.loads(path.read_text()) == [1]
    assert os.listdir(tmp_path) == ['a.json']
