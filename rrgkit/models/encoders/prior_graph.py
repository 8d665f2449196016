# Copyright (c) rrgkit contributors. All rights reserved.
"""Prior medical knowledge graphs over tags: build, load, save, adjacency.

A knowledge graph is a :mod:`networkx` graph whose nodes are tag names
(strings). Edges carry a non-negative ``weight``; nodes may carry an initial
feature vector under ``'feature'``. On disk it is JSON::

    {"directed": false,
     "nodes": ["nodule", {"name": "effusion", "feature": [0.1, 0.2]}],
     "edges": [["nodule", "effusion", 0.7], ["a", "b", 1.0, {"count": 3}]]}

A node is a name or an object with ``name`` and any attributes; an edge is
``[a, b]``, ``[a, b, weight]`` or ``[a, b, weight, {attributes}]`` (weight
defaults to 1).
"""
import json
import math
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import networkx as nx
import numpy as np
import torch

from rrgkit.utils.fileio import atomic_write_json

__all__ = [
    'build_cooccurrence_graph', 'load_knowledge_graph',
    'save_knowledge_graph', 'graph_to_adjacency', 'graph_node_features',
    'normalise_adjacency'
]

PathLike = Union[str, os.PathLike]


def _check_tag_names(tag_names: Sequence[str], where: str) -> List[str]:
    names = list(tag_names)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f'{where}: tag_names must be strings, got '
                        f'{[type(n).__name__ for n in names][:5]}.')
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(f'{where}: tag_names lists tags more than once: '
                         f'{dups}.')
    return names


def build_cooccurrence_graph(tag_matrix: np.ndarray,
                             tag_names: Sequence[str],
                             min_count: int = 1,
                             normalise: str = 'pmi') -> nx.Graph:
    """Build a tag co-occurrence graph from the training split's tags.

    With ``c_i`` the number of samples having tag ``i``, ``c_ij`` the number
    having both ``i`` and ``j`` and ``N`` the number of samples:

    * ``'pmi'``: an undirected :class:`networkx.Graph`; the weight is the
      positive pointwise mutual information
      ``max(0, log(N * c_ij / (c_i * c_j)))``. Pairs with zero PPMI (no
      positive association) get no edge.
    * ``'conditional'``: a :class:`networkx.DiGraph`; edge ``i -> j`` has
      weight ``P(j | i) = c_ij / c_i`` (as in ML-GCN), so row ``i`` of the
      adjacency says which tags come with tag ``i``.

    Only pairs with ``c_ij >= min_count`` get an edge; there are no self
    loops (:func:`graph_to_adjacency` adds them). Every tag is a node, with
    attributes ``count`` (``c_i``) and ``prior`` (``c_i / N``); every edge
    also stores ``count`` (``c_ij``). ``graph.graph`` records ``normalise``,
    ``num_samples`` and ``min_count``.

    Args:
        tag_matrix (np.ndarray): ``(N, T)`` multi-hot tags; non-zero means
            present.
        tag_names (Sequence[str]): The ``T`` tag names, in column order.
        min_count (int): Minimum co-occurrence count for an edge.
            Defaults to 1.
        normalise (str): ``'pmi'`` or ``'conditional'``. Defaults to
            ``'pmi'``.

    Returns:
        networkx.Graph: The co-occurrence graph.
    """
    if normalise not in ('pmi', 'conditional'):
        raise ValueError("build_cooccurrence_graph: normalise must be 'pmi' "
                         f"or 'conditional', got {normalise!r}.")
    tags = np.asarray(tag_matrix)
    if tags.ndim != 2:
        raise ValueError('build_cooccurrence_graph: tag_matrix must be '
                         f'(num_samples, num_tags), got shape {tags.shape}.')
    names = _check_tag_names(tag_names, 'build_cooccurrence_graph')
    if len(names) != tags.shape[1]:
        raise ValueError(f'build_cooccurrence_graph: tag_matrix has '
                         f'{tags.shape[1]} columns but {len(names)} '
                         'tag_names were given.')
    if not np.all(np.isfinite(tags)) or np.any(tags < 0):
        raise ValueError('build_cooccurrence_graph: tag_matrix must hold '
                         'finite non-negative values (multi-hot tags).')
    present = (tags > 0).astype(np.int64)
    num = present.shape[0]
    counts = present.sum(0)
    pair_counts = present.T @ present
    graph = nx.DiGraph() if normalise == 'conditional' else nx.Graph()
    graph.graph.update(
        normalise=normalise, num_samples=int(num), min_count=int(min_count))
    for name, count in zip(names, counts):
        graph.add_node(
            name, count=int(count), prior=float(count / num) if num else 0.0)
    num_tags = len(names)
    for i in range(num_tags):
        # Undirected graphs need each pair once, directed ones both ways.
        start = 0 if graph.is_directed() else i + 1
        for j in range(start, num_tags):
            c_ij = int(pair_counts[i, j])
            if i == j or c_ij == 0 or c_ij < min_count:
                continue
            if normalise == 'conditional':
                weight = c_ij / counts[i]
            else:
                weight = max(0.0, math.log(num * c_ij /
                                           (counts[i] * counts[j])))
                if weight == 0.0:
                    continue
            graph.add_edge(
                names[i], names[j], weight=float(weight), count=c_ij)
    return graph


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def save_knowledge_graph(graph: nx.Graph, path: PathLike) -> None:
    """Write a knowledge graph as JSON (atomically: temp file, then rename).

    Args:
        graph (networkx.Graph): Nodes must be strings; edge weights default
            to 1. Other node and edge attributes are kept.
        path (str | PathLike): Destination JSON file.
    """
    path = os.fspath(path)
    bad = [n for n in graph.nodes if not isinstance(n, str)]
    if bad:
        raise TypeError('save_knowledge_graph: node names must be strings '
                        f'(tag names), got {bad[:5]}.')
    nodes = []
    for name, attrs in graph.nodes(data=True):
        nodes.append(dict(name=name, **_jsonable(attrs)) if attrs else name)
    edges = []
    for a, b, attrs in graph.edges(data=True):
        attrs = dict(attrs)
        edge = [a, b, float(attrs.pop('weight', 1.0))]
        if attrs:
            edge.append(_jsonable(attrs))
        edges.append(edge)
    content = dict(
        directed=graph.is_directed(),
        graph=_jsonable(dict(graph.graph)),
        nodes=nodes,
        edges=edges)
    atomic_write_json(content, path)


def load_knowledge_graph(path: PathLike) -> nx.Graph:
    """Read a knowledge graph written by :func:`save_knowledge_graph`.

    Args:
        path (str | PathLike): JSON file with ``nodes`` and ``edges`` (and
            optionally ``directed`` and ``graph``), see the module docstring.

    Returns:
        networkx.Graph: A :class:`networkx.DiGraph` when ``directed`` is
        true, else a :class:`networkx.Graph`.
    """
    path = os.fspath(path)
    src = f'knowledge graph file {path!r}'
    if not osp.isfile(path):
        raise FileNotFoundError(f'{src} does not exist; build one with '
                                'build_cooccurrence_graph and '
                                'save_knowledge_graph.')
    try:
        with open(path, encoding='utf-8-sig') as f:
            content = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{src} is not valid UTF-8 JSON: {e}') from None
    if not isinstance(content, dict) or not {'nodes', 'edges'} <= set(content):
        keys = sorted(content) if isinstance(content, dict) else type(content)
        raise ValueError(f'{src} must be a JSON object with "nodes" and '
                         f'"edges" lists; got {keys}.')
    graph = nx.DiGraph() if content.get('directed') else nx.Graph()
    graph.graph.update(content.get('graph') or {})
    for k, node in enumerate(content['nodes']):
        attrs: Dict[str, Any] = {}
        if isinstance(node, dict):
            attrs = dict(node)
            node = attrs.pop('name', None)
        if not isinstance(node, str):
            raise ValueError(f'{src}: nodes[{k}] must be a tag name or an '
                             f'object with a "name" string, got {node!r}.')
        if node in graph:
            raise ValueError(f'{src}: node {node!r} is listed twice.')
        graph.add_node(node, **attrs)
    unknown = set()
    for k, edge in enumerate(content['edges']):
        ok = (isinstance(edge, list) and 2 <= len(edge) <= 4
              and (len(edge) < 3 or isinstance(edge[2], (int, float)))
              and (len(edge) < 4 or isinstance(edge[3], dict)))
        if not ok:
            raise ValueError(f'{src}: edges[{k}] must be [a, b], '
                             '[a, b, weight] or [a, b, weight, {attrs}], '
                             f'got {edge!r}.')
        a, b = edge[0], edge[1]
        missing = [n for n in (a, b) if n not in graph]
        if missing:
            unknown.update(map(str, missing))
            continue
        attrs = dict(edge[3]) if len(edge) == 4 else {}
        graph.add_edge(a, b, weight=float(edge[2]) if len(edge) > 2 else 1.0,
                       **attrs)
    if unknown:
        raise ValueError(f'{src}: edges use nodes that are not in "nodes": '
                         f'{sorted(unknown)}. Add them to "nodes" or fix '
                         'the names.')
    return graph


def _check_graph_names(graph: nx.Graph, tag_names: Sequence[str],
                       where: str) -> List[str]:
    names = _check_tag_names(tag_names, where)
    missing = [n for n in names if n not in graph]
    extra = sorted(str(n) for n in graph.nodes if n not in set(names))
    if missing or extra:
        raise ValueError(
            f'{where}: the graph nodes do not match tag_names. Tags missing '
            f'from the graph: {missing}; graph nodes that are not tags: '
            f'{extra}. Use the same tag vocabulary as the dataset (or '
            'graph.subgraph(tag_names) to drop extra nodes on purpose).')
    return names


def normalise_adjacency(adjacency: torch.Tensor,
                        self_loops: bool = True) -> torch.Tensor:
    """Row-normalise a non-negative ``(T, T)`` weight matrix.

    Args:
        adjacency (Tensor): Edge weights, ``adjacency[i, j]`` from ``i`` to
            ``j``.
        self_loops (bool): Set zero diagonal entries to 1 first (explicit
            self-loop weights are kept). Defaults to True.

    Returns:
        Tensor: float32 ``(T, T)``; each row sums to 1 (a row with no
        weight at all, possible only without self loops, stays zero).
    """
    adj = torch.as_tensor(adjacency, dtype=torch.float32).clone()
    if adj.dim() != 2 or adj.shape[0] != adj.shape[1]:
        raise ValueError('Prior adjacency must be a square (T, T) matrix, '
                         f'got shape {tuple(adj.shape)}.')
    if not torch.isfinite(adj).all() or (adj < 0).any():
        raise ValueError('Prior adjacency weights must be finite and '
                         'non-negative.')
    if self_loops:
        diag = adj.diagonal()
        diag.copy_(torch.where(diag > 0, diag, torch.ones_like(diag)))
    total = adj.sum(1, keepdim=True)
    return adj / total.clamp_min(torch.finfo(adj.dtype).tiny)


def graph_to_adjacency(graph: nx.Graph,
                       tag_names: Sequence[str],
                       self_loops: bool = True) -> torch.Tensor:
    """Dense row-normalised adjacency of a knowledge graph in tag order.

    ``A[i, j]`` is the weight of edge ``tag_names[i] -> tag_names[j]`` (both
    directions for an undirected graph), absent edges are 0; then
    :func:`normalise_adjacency` adds self loops (weight 1 unless the graph
    has one) and divides each row by its sum.

    Args:
        graph (networkx.Graph): Nodes must be exactly ``tag_names``.
        tag_names (Sequence[str]): Node order of the matrix.
        self_loops (bool): Add self loops. Defaults to True.

    Returns:
        Tensor: float32 ``(T, T)`` with rows summing to 1.
    """
    names = _check_graph_names(graph, tag_names, 'graph_to_adjacency')
    index = {n: i for i, n in enumerate(names)}
    adj = torch.zeros(len(names), len(names))
    for a, b, weight in graph.edges(data='weight', default=1.0):
        weight = float(weight)
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f'graph_to_adjacency: edge ({a!r}, {b!r}) has '
                             f'weight {weight}; weights must be finite and '
                             'non-negative.')
        adj[index[a], index[b]] = weight
        if not graph.is_directed():
            adj[index[b], index[a]] = weight
    return normalise_adjacency(adj, self_loops=self_loops)


def graph_node_features(graph: nx.Graph,
                        tag_names: Sequence[str],
                        key: str = 'feature') -> Optional[torch.Tensor]:
    """Initial node features stored on a graph's nodes, in tag order.

    Args:
        graph (networkx.Graph): Nodes must be exactly ``tag_names``.
        tag_names (Sequence[str]): Row order.
        key (str): Node attribute holding the vector. Defaults to
            ``'feature'``.

    Returns:
        Tensor | None: float32 ``(T, F)``, or None when no node has one.
    """
    names = _check_graph_names(graph, tag_names, 'graph_node_features')
    feats = [graph.nodes[n].get(key) for n in names]
    if all(f is None for f in feats):
        return None
    lacking = [n for n, f in zip(names, feats) if f is None]
    if lacking:
        raise ValueError(f'graph_node_features: nodes {lacking} have no '
                         f'{key!r} while others do; give every node one or '
                         'none.')
    sizes = {len(f) for f in feats}
    if len(sizes) != 1:
        raise ValueError(f'graph_node_features: {key!r} vectors have '
                         f'different lengths {sorted(sizes)}.')
    return torch.tensor(feats, dtype=torch.float32)
