# Copyright (c) rrgkit contributors. All rights reserved.
"""The results tables in docs/ match the recorded results."""
from .conftest import load_tool


def test_docs_tables_are_up_to_date(capsys):
    tool = load_tool('gen_docs_tables')
    code = tool.main(['--check'])
    out = capsys.readouterr().out
    assert code == 0, out
    assert 'up to date' in out
