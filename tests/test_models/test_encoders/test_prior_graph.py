# Copyright (c) rrgkit contributors. All rights reserved.
import json
import math

import networkx as nx
import numpy as np
import pytest
import torch

from rrgkit.models.encoders import (build_cooccurrence_graph,
                                    graph_node_features, graph_to_adjacency,
                                    load_knowledge_graph, normalise_adjacency,
                                    save_knowledge_graph)

NAMES = ['a', 'b', 'c']
# c_a = 3, c_b = 2, c_c = 2; c_ab = 2, c_ac = 1, c_bc = 0; N = 5.
TAGS = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1], [0, 0, 0]])


def test_conditional_weights_are_p_j_given_i():
    g = build_cooccurrence_graph(TAGS, NAMES, normalise='conditional')
    assert g.is_directed()
    weights = {(a, b): w for a, b, w in g.edges(data='weight')}
    assert weights == pytest.approx({
        ('a', 'b'): 2 / 3, ('b', 'a'): 1.0,
        ('a', 'c'): 1 / 3, ('c', 'a'): 1 / 2})
    assert g.nodes['a'] == dict(count=3, prior=0.6)
    assert g.edges['a', 'b']['count'] == 2
    # min_count drops the pair seen once.
    g2 = build_cooccurrence_graph(TAGS, NAMES, min_count=2,
                                  normalise='conditional')
    assert set(g2.edges) == {('a', 'b'), ('b', 'a')}
    assert set(g2.nodes) == set(NAMES)


def test_pmi_keeps_positive_associations_only():
    g = build_cooccurrence_graph(TAGS, NAMES, normalise='pmi')
    assert not g.is_directed()
    # PMI(a, b) = log(5 * 2 / (3 * 2)); PMI(a, c) = log(5 / 6) < 0 -> no edge.
    assert list(g.edges(data='weight')) == [
        ('a', 'b', pytest.approx(math.log(5 / 3)))]
    assert g.graph['num_samples'] == 5


def test_adjacency_is_row_normalised_with_self_loops():
    g = build_cooccurrence_graph(TAGS, NAMES, normalise='conditional')
    adj = graph_to_adjacency(g, NAMES)
    expected = torch.tensor([[1 / 2, 1 / 3, 1 / 6],
                             [1 / 2, 1 / 2, 0.0],
                             [1 / 3, 0.0, 2 / 3]])
    assert torch.allclose(adj, expected)
    # Undirected: both directions; order follows tag_names.
    w = math.log(5 / 3)
    adj = graph_to_adjacency(build_cooccurrence_graph(TAGS, NAMES), ['c', 'b',
                                                                    'a'])
    expected = torch.tensor([[1.0, 0, 0],
                             [0, 1 / (1 + w), w / (1 + w)],
                             [0, w / (1 + w), 1 / (1 + w)]])
    assert torch.allclose(adj, expected)


def test_unknown_names_are_named_in_the_error():
    g = build_cooccurrence_graph(TAGS, NAMES)
    with pytest.raises(ValueError, match=r"missing from the graph: \['x'\]"):
        graph_to_adjacency(g, ['a', 'b', 'x'])
    with pytest.raises(ValueError, match=r"not tags: \['c'\]"):
        graph_to_adjacency(g, ['a', 'b'])


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match='3 columns but 2 tag_names'):
        build_cooccurrence_graph(TAGS, ['a', 'b'])
    with pytest.raises(ValueError, match="'pmi' or 'conditional'"):
        build_cooccurrence_graph(TAGS, NAMES, normalise='jaccard')
    with pytest.raises(ValueError, match=r"more than once: \['a'\]"):
        build_cooccurrence_graph(TAGS, ['a', 'a', 'b'])
    with pytest.raises(ValueError, match='non-negative'):
        normalise_adjacency(-torch.eye(2))
    with pytest.raises(ValueError, match='square'):
        normalise_adjacency(torch.ones(2, 3))


def test_normalise_adjacency_keeps_explicit_self_loops():
    adj = normalise_adjacency(torch.tensor([[3.0, 1.0], [1.0, 0.0]]))
    assert torch.allclose(adj, torch.tensor([[0.75, 0.25], [0.5, 0.5]]))
    no_loops = normalise_adjacency(torch.zeros(2, 2), self_loops=False)
    assert torch.equal(no_loops, torch.zeros(2, 2))


def test_json_round_trip(tmp_path):
    g = build_cooccurrence_graph(TAGS, NAMES, normalise='conditional')
    g.nodes['a']['feature'] = [0.5, -1.0]
    path = tmp_path / 'sub' / 'kg.json'
    save_knowledge_graph(g, path)
    assert [p.name for p in path.parent.iterdir()] == ['kg.json']
    back = load_knowledge_graph(path)
    assert back.is_directed()
    assert dict(back.nodes(data=True)) == dict(g.nodes(data=True))
    assert sorted(back.edges(data=True)) == sorted(g.edges(data=True))
    assert back.graph == g.graph
    assert torch.equal(graph_to_adjacency(back, NAMES),
                       graph_to_adjacency(g, NAMES))


def test_plain_json_form_and_node_features(tmp_path):
    path = tmp_path / 'kg.json'
    path.write_text(json.dumps({
        'nodes': [{'name': 'a', 'feature': [1, 2]}, {'name': 'b',
                                                     'feature': [3, 4]}],
        'edges': [['a', 'b', 0.5]]}))
    g = load_knowledge_graph(path)
    assert not g.is_directed()
    assert g.edges['a', 'b']['weight'] == 0.5
    feats = graph_node_features(g, ['b', 'a'])
    assert torch.equal(feats, torch.tensor([[3.0, 4.0], [1.0, 2.0]]))
    g.add_edge('a', 'a', weight=1.5)
    assert torch.allclose(graph_to_adjacency(g, ['a', 'b']),
                          torch.tensor([[0.75, 0.25], [1 / 3, 2 / 3]]))


def test_load_errors_name_the_file_and_the_problem(tmp_path):
    path = tmp_path / 'kg.json'
    with pytest.raises(FileNotFoundError, match='kg.json'):
        load_knowledge_graph(path)
    path.write_text('{"nodes": [')
    with pytest.raises(ValueError, match='kg.json.*not valid'):
        load_knowledge_graph(path)
    path.write_text('{"nodes": []}')
    with pytest.raises(ValueError, match='"nodes" and "edges"'):
        load_knowledge_graph(path)
    path.write_text(json.dumps({'nodes': ['a'],
                                'edges': [['a', 'zz', 1], ['yy', 'a']]}))
    with pytest.raises(ValueError, match=r"not in \"nodes\": \['yy', 'zz'\]"):
        load_knowledge_graph(path)
    path.write_text(json.dumps({'nodes': ['a', 'b'], 'edges': [['a']]}))
    with pytest.raises(ValueError, match=r'edges\[0\]'):
        load_knowledge_graph(path)


def test_failed_save_leaves_nothing_behind(tmp_path):
    path = tmp_path / 'kg.json'
    path.write_text('old')
    g = nx.Graph()
    g.add_node('a', feature=object())  # not JSON serialisable
    with pytest.raises(TypeError):
        save_knowledge_graph(g, path)
    assert path.read_text() == 'old'
    assert [p.name for p in tmp_path.iterdir()] == ['kg.json']
    with pytest.raises(TypeError, match='strings'):
        save_knowledge_graph(nx.path_graph(2), tmp_path / 'x.json')
    assert not (tmp_path / 'x.json').exists()
