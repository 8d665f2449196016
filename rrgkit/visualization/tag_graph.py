# Copyright (c) rrgkit contributors. All rights reserved.
"""The medical tag graph picture (ASGK, Li et al., 2020, figure 3)."""
from typing import Optional, Sequence, Tuple

import networkx as nx
import numpy as np

from .drawing import (PathLike, _as_numpy, _colormap, _figure,
                      _font_family, _render)

__all__ = ['draw_tag_graph']


def _tag_graph(probs: np.ndarray, edges: np.ndarray, names: Sequence[str],
               node_threshold: float, edge_threshold: float,
               directed: bool) -> nx.Graph:
    graph = nx.DiGraph() if directed else nx.Graph()
    keep = [i for i in range(len(names)) if probs[i] > node_threshold]
    for i in keep:
        graph.add_node(names[i], index=i, prob=float(probs[i]))
    for a, i in enumerate(keep):
        for j in (keep if directed else keep[a + 1:]):
            if i == j:
                continue
            weight = float(edges[i, j] if directed else max(
                edges[i, j], edges[j, i]))
            if weight > edge_threshold:
                graph.add_edge(names[i], names[j], weight=weight)
    return graph


def draw_tag_graph(node_probs,
                   edges,
                   names: Optional[Sequence[str]] = None,
                   out: Optional[PathLike] = None,
                   node_threshold: float = 0.5,
                   edge_threshold: float = 0.3,
                   directed: bool = False,
                   figsize: Tuple[float, float] = (6.0, 6.0),
                   dpi: int = 100,
                   cmap: str = 'Reds',
                   title: Optional[str] = None) -> nx.Graph:
    """Draw the medical tag graph (ASGK paper, figure 3).

    Nodes are the tags whose probability is above ``node_threshold``
    (strictly), sized and coloured by it and labelled with the tag name and
    probability. Between two shown tags ``i`` and ``j`` an edge is drawn
    when its weight is above ``edge_threshold`` (strictly): the weight is
    ``max(edges[i, j], edges[j, i])``, or ``edges[i, j]`` for ``i -> j``
    with ``directed=True``; self loops are left out. A graph without any
    node above the threshold still gives a picture saying so. The picture is
    ``figsize * dpi`` pixels.

    Args:
        node_probs (ndarray | Tensor): ``(K,)`` tag probabilities (e.g. the
            ``tag_probs`` of :class:`~rrgkit.models.encoders.TagGraphEncoder`).
        edges (ndarray | Tensor): ``(K, K)`` edge weights (e.g. its
            ``graph_attention``).
        names (Sequence[str], optional): The ``K`` tag names. Defaults to
            ``tag_0 ... tag_{K-1}``.
        out (str | PathLike, optional): PNG file to write. Defaults to None.
        node_threshold (float): Defaults to 0.5.
        edge_threshold (float): Defaults to 0.3.
        directed (bool): Draw directed edges. Defaults to False.
        figsize (tuple[float, float]): Inches. Defaults to (6, 6).
        dpi (int): Dots per inch. Defaults to 100.
        cmap (str): Node colormap. Defaults to ``'Reds'``.
        title (str, optional): Figure title. Defaults to None.

    Returns:
        networkx.Graph: The drawn graph (``nx.DiGraph`` when directed):
        nodes are tag names with ``index`` and ``prob``, edges carry
        ``weight``.
    """
    probs = _as_numpy(node_probs, 'node_probs').astype(np.float64)
    weights = _as_numpy(edges, 'edges').astype(np.float64)
    if probs.ndim != 1:
        raise ValueError(f'node_probs must be (K,), got shape {probs.shape}')
    K = probs.shape[0]
    if weights.shape != (K, K):
        raise ValueError(f'edges must be (K, K) = ({K}, {K}) for {K} node '
                         f'probabilities, got shape {weights.shape}')
    names = [f'tag_{i}' for i in range(K)] if names is None else [
        str(n) for n in names]
    if len(names) != K:
        raise ValueError(f'{len(names)} tag names for {K} nodes; give the '
                         "dataset's tag_names in the model's tag order")
    if len(set(names)) != K:
        raise ValueError('tag names must be unique')
    graph = _tag_graph(probs, weights, names, node_threshold, edge_threshold,
                       directed)

    fig = _figure(figsize[0], figsize[1], dpi)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9 if title else 0.96))
    ax.set_axis_off()
    family = _font_family(names + [title or ''])
    if title:
        fig.suptitle(title, fontsize=11, family=family)
    if graph.number_of_nodes() == 0:
        ax.text(0.5, 0.5, f'no tag above {node_threshold:g}',
                ha='center', va='center', fontsize=14)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        _render(fig, out)
        return graph
    _draw_graph(ax, graph, cmap, family)
    _render(fig, out)
    return graph


def _draw_graph(ax, graph: nx.Graph, cmap: str, family) -> None:
    pos = (nx.circular_layout(graph) if graph.number_of_nodes() <= 3 else
           nx.spring_layout(graph, seed=0, weight='weight'))
    nodes = list(graph.nodes)
    probs = [graph.nodes[n]['prob'] for n in nodes]
    nx.draw_networkx_nodes(
        graph, pos, nodelist=nodes, ax=ax, node_size=[300 + 1700 * p
                                                      for p in probs],
        node_color=probs, cmap=_colormap(cmap), vmin=0.0, vmax=1.0,
        edgecolors='black', linewidths=0.8)
    if graph.number_of_edges():
        edge_list = list(graph.edges)
        widths = [1.0 + 4.0 * graph.edges[e]['weight'] for e in edge_list]
        nx.draw_networkx_edges(graph, pos, edgelist=edge_list, ax=ax,
                               width=widths, edge_color='gray',
                               arrows=graph.is_directed())
        nx.draw_networkx_edge_labels(
            graph, pos, ax=ax, font_size=7,
            edge_labels={e: f"{graph.edges[e]['weight']:.2f}"
                         for e in edge_list})
    nx.draw_networkx_labels(
        graph, pos, ax=ax, font_size=8, font_family=family or 'sans-serif',
        bbox=dict(facecolor='white', alpha=0.7, edgecolor='none', pad=1.0),
        labels={n: f"{n}\n{graph.nodes[n]['prob']:.2f}" for n in nodes})
    xs = np.array([p[0] for p in pos.values()])
    ys = np.array([p[1] for p in pos.values()])
    pad = 0.35
    ax.set_xlim(xs.min() - pad, xs.max() + pad)
    ax.set_ylim(ys.min() - pad, ys.max() + pad)
