# Copyright (c) rrgkit contributors. All rights reserved.
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rrgkit.models.utils.glove import (Cooccurrence, build_cooccurrence,
                                       load_word_vectors, train_glove)

REPO = Path(__file__).resolve().parents[3]


def _dense(cooc, vocab_size):
    out = np.zeros((vocab_size, vocab_size))
    out[cooc.rows, cooc.cols] = cooc.counts
    return out


def test_cooccurrence_counts_are_window_weighted_and_symmetric():
    # a b c a | b a ; ids a=0 b=1 c=2
    cooc = build_cooccurrence([[0, 1, 2, 0], [1, 0]], 3, window=2)
    expected = np.zeros((3, 3))

    def add(i, j, x):
        expected[i, j] += x
        expected[j, i] += x

    add(0, 1, 1.0)  # a b (d=1), first report
    add(1, 2, 1.0)  # b c
    add(2, 0, 1.0)  # c a
    add(0, 2, 0.5)  # a . c (d=2)
    add(1, 0, 0.5)  # b . a (d=2)
    add(1, 0, 1.0)  # b a, second report (no pair across reports)
    np.testing.assert_allclose(_dense(cooc, 3), expected)
    # Exact values: X[a, b] = 1 + 0.5 + 1, X[a, a] = 0 (3 apart > window).
    assert _dense(cooc, 3)[0, 1] == pytest.approx(2.5)
    assert _dense(cooc, 3)[0, 0] == 0.0
    # Sorted unique pairs, only non-zero counts.
    keys = cooc.rows * 3 + cooc.cols
    assert (np.diff(keys) > 0).all() and (cooc.counts > 0).all()


def test_cooccurrence_window_and_repeats():
    cooc = build_cooccurrence([[4, 4, 5, 6]], 7, window=3)
    dense = _dense(cooc, 7)
    assert dense[4, 4] == pytest.approx(2.0)  # repeat at d=1, both ways
    assert dense[4, 6] == pytest.approx(1 / 2 + 1 / 3)
    assert dense[6, 4] == dense[4, 6]
    narrow = _dense(build_cooccurrence([[4, 4, 5, 6]], 7, window=1), 7)
    assert narrow[4, 6] == 0.0 and narrow[5, 6] == 1.0
    with pytest.raises(ValueError, match=r'\[0, 7\)'):
        build_cooccurrence([[1, 7]], 7)


def _topic_corpus(seed=0, n=200):
    """4 topics of 5 words (ids 5t..5t+4); a report uses one topic only."""
    rng = np.random.default_rng(seed)
    return [
        list(5 * int(rng.integers(0, 4)) + rng.integers(0, 5, size=8))
        for _ in range(n)
    ]


def _cos(v, a, b):
    return float(v[a] @ v[b] / (np.linalg.norm(v[a]) * np.linalg.norm(v[b])))


def test_glove_loss_decreases_and_related_words_are_close():
    cooc = build_cooccurrence(_topic_corpus(), 20, window=3)
    history = []
    vectors = train_glove(cooc, 20, dim=16, epochs=30, history=history)
    assert vectors.shape == (20, 16) and vectors.dtype == np.float32
    assert len(history) == 30
    assert history[-1] < 0.01 * history[0]
    assert all(b <= a * 1.01 for a, b in zip(history, history[1:]))
    pairs = [(i, j) for i in range(20) for j in range(i + 1, 20)]
    together = min(_cos(vectors, i, j) for i, j in pairs if i // 5 == j // 5)
    apart = max(_cos(vectors, i, j) for i, j in pairs if i // 5 != j // 5)
    assert together > 0.9 and apart < 0.7


def test_glove_is_deterministic_given_the_seed():
    cooc = build_cooccurrence(_topic_corpus(n=50), 20, window=3)
    a = train_glove(cooc, 20, dim=8, epochs=3, seed=1)
    b = train_glove(cooc, 20, dim=8, epochs=3, seed=1)
    c = train_glove(cooc, 20, dim=8, epochs=3, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_glove_rejects_bad_input():
    empty = build_cooccurrence([[1], [2]], 3)
    assert empty.counts.size == 0
    with pytest.raises(ValueError, match='empty'):
        train_glove(empty, 3)
    bad = Cooccurrence(np.array([0]), np.array([5]), np.array([1.0]))
    with pytest.raises(ValueError, match='vocab_size=3'):
        train_glove(bad, 3)


def test_load_word_vectors_checks_shape_and_sidecar(tmp_path):
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / 'v.npy', matrix)
    torch.save(torch.from_numpy(matrix), tmp_path / 'v.pt')
    for name in ('v.npy', 'v.pt'):
        loaded = load_word_vectors(tmp_path / name, vocab_size=4)
        np.testing.assert_array_equal(loaded.numpy(), matrix)
    with pytest.raises(ValueError, match='4 rows but the vocabulary has 5'):
        load_word_vectors(tmp_path / 'v.npy', vocab_size=5)
    with pytest.raises(FileNotFoundError, match='train_glove.py'):
        load_word_vectors(tmp_path / 'missing.npy')
    (tmp_path / 'v.json').write_text(
        json.dumps(dict(vocab_size=4, vocab_hash='abc')))
    load_word_vectors(tmp_path / 'v.npy', 4, vocab_hash='abc')
    with pytest.raises(ValueError, match='vocabulary abc'):
        load_word_vectors(tmp_path / 'v.npy', 4, vocab_hash='xyz')


def test_train_glove_tool_on_covctr(covctr_root, tmp_path):
    spec = importlib.util.spec_from_file_location(
        'train_glove_tool', REPO / 'tools' / 'train_glove.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'vectors.npy'
    config = REPO / 'configs/nic/nic_densenet121_1xb16_10e_covctr_en.py'
    tool.main([
        str(config), '--out',
        str(out), '--dim', '16', '--epochs', '5', '--data-root',
        str(covctr_root)
    ])
    meta = json.loads((tmp_path / 'vectors.json').read_text())
    vectors = np.load(out)
    assert vectors.shape == (meta['vocab_size'], 16)
    assert meta['num_reports'] == 576
    assert meta['loss_last_epoch'] < meta['loss_first_epoch']
    assert not vectors[0].any()  # <pad>
    assert meta['untrained_rows'][:3] == ['<pad>', '<bos>', '<eos>']
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'vectors.json', 'vectors.npy'
    ]
