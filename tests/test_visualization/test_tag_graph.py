# Copyright (c) rrgkit contributors. All rights reserved.
import numpy as np
import pytest
import torch
from PIL import Image

from rrgkit.visualization import draw_tag_graph


def _png(path):
    with Image.open(path) as img:
        img.load()
        assert img.format == 'PNG'
        return img.size, img.mode, np.asarray(img)


NAMES = ['effusion', 'nodule', 'opacity', 'cardiomegaly', 'atelectasis']
PROBS = [0.9, 0.2, 0.7, 0.5, 0.6]  # 'cardiomegaly' is not above 0.5


def _edges():
    e = np.full((5, 5), 0.05)
    np.fill_diagonal(e, 1.0)  # self loops are never drawn
    e[0, 2], e[2, 0] = 0.4, 0.1  # effusion -> opacity kept (0.4)
    e[0, 4] = 0.3  # not above 0.3
    e[2, 4], e[4, 2] = 0.1, 0.35  # atelectasis -> opacity kept (0.35)
    e[0, 1] = 0.9  # nodule is below the node threshold
    e[3, 0] = 0.8  # cardiomegaly too
    return e


def test_tag_graph_keeps_nodes_above_half_and_edges_above_0_3(tmp_path):
    out = tmp_path / 'graph.png'
    graph = draw_tag_graph(torch.tensor(PROBS), torch.tensor(_edges()),
                           NAMES, out=out)
    assert set(graph.nodes) == {'effusion', 'opacity', 'atelectasis'}
    assert graph.nodes['opacity']['prob'] == pytest.approx(0.7)
    assert graph.nodes['atelectasis']['index'] == 4
    edges = {frozenset(e): w for *e, w in graph.edges(data='weight')}
    assert edges == {
        frozenset(['effusion', 'opacity']): pytest.approx(0.4),
        frozenset(['opacity', 'atelectasis']): pytest.approx(0.35)
    }
    size, mode, _ = _png(out)
    assert size == (600, 600) and mode == 'RGB'


def test_tag_graph_directed_and_custom_thresholds():
    directed = draw_tag_graph(PROBS, _edges(), NAMES, directed=True)
    assert set(directed.edges) == {('effusion', 'opacity'),
                                   ('atelectasis', 'opacity')}
    loose = draw_tag_graph(PROBS, _edges(), NAMES, node_threshold=0.1,
                           edge_threshold=0.29)
    assert set(loose.nodes) == set(NAMES)
    assert loose.has_edge('effusion', 'nodule')
    assert loose.has_edge('cardiomegaly', 'effusion')
    assert loose.has_edge('effusion', 'atelectasis')  # 0.3 > 0.29
    assert not any(u == v for u, v in loose.edges)


def test_empty_tag_graph_still_writes_a_picture(tmp_path):
    out = tmp_path / 'empty.png'
    graph = draw_tag_graph(np.full(3, 0.1), np.ones((3, 3)), out=out,
                           figsize=(3, 2), dpi=50)
    assert graph.number_of_nodes() == 0
    size, mode, pixels = _png(out)
    assert size == (150, 100) and mode == 'RGB'
    assert (pixels < 100).any()  # the "no tag above 0.5" text


def test_tag_graph_rejects_bad_input():
    with pytest.raises(ValueError, match='tag names'):
        draw_tag_graph(PROBS, _edges(), NAMES[:4])
    with pytest.raises(ValueError, match=r'\(K, K\)'):
        draw_tag_graph(PROBS, np.ones((4, 4)), NAMES)
    with pytest.raises(ValueError, match='unique'):
        draw_tag_graph([0.9, 0.9], np.ones((2, 2)), ['a', 'a'])
