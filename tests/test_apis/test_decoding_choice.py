# Copyright (c) rrgkit contributors. All rights reserved.
import pytest

from rrgkit.apis.decoding_choice import choose_best, grid_options, parse_grid


def test_grid_is_parsed_and_expanded_in_order():
    grid = parse_grid(['a.n=0,2,3', 'a.lp= 0 ,1'])
    assert grid == [('a.n', ['0', '2', '3']), ('a.lp', ['0', '1'])]
    trials = grid_options(grid)
    assert len(trials) == 6
    assert trials[0] == ['a.n=0', 'a.lp=0']
    assert trials[1] == ['a.n=0', 'a.lp=1']
    assert trials[-1] == ['a.n=3', 'a.lp=1']
    for bad, match in (('a.n', 'expected key='), ('a.n=', 'expected key='),
                       ('=1', 'expected key=')):
        with pytest.raises(ValueError, match=match):
            parse_grid([bad])
    with pytest.raises(ValueError, match="'a' twice"):
        parse_grid(['a=1', 'a=2'])


def test_best_score_wins_and_the_first_of_equals():
    scores = {'n=0': 0.5, 'n=2': 0.7, 'n=3': 0.7}
    result = choose_best([['n=0'], ['n=2'], ['n=3']],
                         lambda o: scores[o[0]])
    assert result['options'] == ['n=2'] and result['score'] == 0.7
    assert [t['score'] for t in result['trials']] == [0.5, 0.7, 0.7]
    flat = choose_best([['n=0'], ['n=2']], lambda o: 1.0)
    assert flat['options'] == ['n=0']
