# Copyright (c) rrgkit contributors. All rights reserved.
"""The medical tag graph encoder of ASGK (Li et al., 2020)."""
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import networkx as nx
import torch
import torch.nn as nn
import torch.nn.functional as F

from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from .prior_graph import (build_cooccurrence_graph, graph_node_features,
                          graph_to_adjacency, load_knowledge_graph,
                          normalise_adjacency)

__all__ = ['TagGraphEncoder']

PriorGraph = Union[None, str, os.PathLike, nx.Graph, torch.Tensor, list,
                   dict]


def _resolve_prior(
    prior_graph: PriorGraph, tag_names: Union[None, str, Sequence[str]],
    num_tags: int
) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """Return the prior adjacency ``(T, T)`` and node features ``(T, F)``."""
    if prior_graph is None:
        return None, None
    if isinstance(prior_graph, dict):
        prior_graph, tag_names = _cooccurrence_from_corpus(**prior_graph)
    if isinstance(prior_graph, (str, os.PathLike, nx.Graph)):
        if tag_names is None:
            raise ValueError(
                'TagGraphEncoder: prior_graph is a knowledge graph, so '
                'tag_names (the dataset\'s tag list, or its JSON file) is '
                'needed to put its nodes in the order of gt_tags.')
        if isinstance(tag_names, str):
            from rrgkit.datasets.report_dataset import load_tag_names
            tag_names = load_tag_names(tag_names)
        if len(tag_names) != num_tags:
            raise ValueError(f'TagGraphEncoder: num_tags={num_tags} but '
                             f'tag_names has {len(tag_names)} tags.')
        graph = prior_graph
        if not isinstance(graph, nx.Graph):
            graph = load_knowledge_graph(graph)
        return (graph_to_adjacency(graph, tag_names),
                graph_node_features(graph, tag_names))
    adjacency = normalise_adjacency(torch.as_tensor(prior_graph))
    if adjacency.shape != (num_tags, num_tags):
        raise ValueError(f'TagGraphEncoder: the prior adjacency has shape '
                         f'{tuple(adjacency.shape)}, expected ({num_tags}, '
                         f'{num_tags}) for num_tags={num_tags}.')
    return adjacency, None


def _cooccurrence_from_corpus(corpus, normalise: str = 'pmi',
                              min_count: int = 1):
    """Build the co-occurrence graph of a (training) dataset's tags.

    Args:
        corpus (dict | Dataset): A dataset config (built from the registry)
            or a dataset with ``get_tag_matrix()`` and ``metainfo``.
        normalise (str): Edge weighting, see ``build_cooccurrence_graph``.
        min_count (int): Minimum joint count of an edge.

    Returns:
        tuple: The graph and the dataset's tag names.
    """
    if isinstance(corpus, dict):
        from rrgkit.registry import DATASETS
        corpus = DATASETS.build(corpus)
    tag_names = corpus.metainfo.get('tag_names')
    graph = build_cooccurrence_graph(
        corpus.get_tag_matrix(), tag_names, min_count=min_count,
        normalise=normalise)
    return graph, tag_names


class _NodeSelfAttentionLayer(nn.Module):
    """Multi-head self-attention over nodes, then a feed-forward block.

    Post-norm residuals: ``x = LN(x + MHSA(x))``, ``x = LN(x + FFN(x))``.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float,
                 ffn_channels: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(
            d_model, num_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(d_model)
        self.ffn = None
        if ffn_channels > 0:
            self.ffn = nn.Sequential(
                nn.Linear(d_model, ffn_channels), nn.GELU(),
                nn.Dropout(dropout), nn.Linear(ffn_channels, d_model))
            self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.attn(x, x, x, need_weights=False)
        x = self.norm1(x + self.dropout(y))
        if self.ffn is not None:
            x = self.norm2(x + self.dropout(self.ffn(x)))
        return x


@MODELS.register_module()
class TagGraphEncoder(nn.Module):
    """Medical tag graph encoder (ASGK's knowledge encoder).

    One node per medical tag. With ``f`` the study vector
    (``visual.global_feat``, ``(B, D)``) and ``e_i`` a learned tag
    embedding:

    1. Node values (initial tag probabilities) ``V = sigmoid(W_v f)``.
    2. Node features ``H0_i = LN(e_i * V_i + W_f f)``: the tag's identity,
       scaled by how present the tag looks, plus the image. When the prior
       graph's nodes carry initial features ``x_i``, ``e_i`` is the learned
       embedding plus ``W_x x_i``.
    3. Edges: ``A = softmax(Q K^T / sqrt(d))`` with ``Q = H0 W_q``,
       ``K = H0 W_k``. A prior adjacency ``P`` (row-normalised, self loops)
       is mixed in as ``A = (1 - a) A + a P`` with a learned
       ``a = sigmoid(lambda)``, so rows still sum to 1.
    4. Propagation ``H1 = LN(H0 + Dropout(A H0 W_m))``.
    5. ``num_layers`` multi-head self-attention layers over the nodes, each
       ``LN(x + MHSA(x))`` then ``LN(x + FFN(x))``.
    6. Final node values ``p_i = sigmoid(w_i . H_i + b_i)`` with a weight
       vector per tag; ``loss_tag_graph`` is their binary cross entropy
       against ``gt_tags`` (ASGK eq. 4), times ``loss_weight``.

    The decoder attends to the graph: the returned features have
    ``tokens`` = the final node features ``(B, T, d_model)`` and
    ``global_feat`` = their mean ``(B, d_model)`` (so ``out_channels`` is
    ``d_model`` for both). ``extras`` gains ``tag_probs`` (``p``, ``(B,
    T)``), ``tag_logits``, ``initial_tag_probs`` (``V``),
    ``graph_attention`` (``A``, ``(B, T, T)``), and the incoming
    ``visual_tokens`` and ``visual_global_feat``.

    Args:
        in_channels (int): Size ``D`` of ``visual.global_feat``.
        num_tags (int): Number of medical tags ``T``.
        d_model (int): Node feature size. Defaults to 512.
        num_heads (int): Heads of the node self-attention. Defaults to 8.
        num_layers (int): Node self-attention layers (0 for none).
            Defaults to 1.
        dropout (float): Dropout rate. Defaults to 0.1.
        prior_graph (str | PathLike | networkx.Graph | Tensor | list,
            optional): Prior knowledge: a knowledge-graph JSON file (see
            :mod:`rrgkit.models.encoders.prior_graph`), a graph, or a
            ``(T, T)`` non-negative weight matrix (row-normalised here, with
            self loops where the diagonal is 0), or
            ``dict(corpus=<training dataset config>, normalise='pmi',
            min_count=1)`` to build the tag co-occurrence graph of the
            training split. The adjacency is a buffer, so checkpoints carry
            it. Defaults to None.
        tag_names (str | Sequence[str], optional): Tag order of
            ``gt_tags``, or a JSON file of it; needed when ``prior_graph``
            is a file or graph. Defaults to None.
        prior_weight (float): Initial mixing weight ``a`` in (0, 1) of the
            prior adjacency (learned afterwards). Defaults to 0.5.
        ffn_channels (int, optional): Hidden size of the feed-forward block
            of each layer; 0 for none. Defaults to ``4 * d_model``.
        loss_weight (float): Weight of ``loss_tag_graph``. Defaults to 1.0.
    """

    def __init__(self,
                 in_channels: int,
                 num_tags: int,
                 d_model: int = 512,
                 num_heads: int = 8,
                 num_layers: int = 1,
                 dropout: float = 0.1,
                 prior_graph: PriorGraph = None,
                 tag_names: Union[None, str, Sequence[str]] = None,
                 prior_weight: float = 0.5,
                 ffn_channels: Optional[int] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not isinstance(in_channels, int) or in_channels <= 0:
            raise ValueError('TagGraphEncoder: in_channels must be the size '
                             'of visual.global_feat (a positive int), got '
                             f'{in_channels!r}.')
        if num_tags <= 0:
            raise ValueError(f'TagGraphEncoder: num_tags must be positive, '
                             f'got {num_tags}.')
        if d_model % num_heads:
            raise ValueError(f'TagGraphEncoder: d_model={d_model} must be '
                             f'divisible by num_heads={num_heads}.')
        if not 0.0 < prior_weight < 1.0:
            raise ValueError('TagGraphEncoder: prior_weight must be in (0, '
                             f'1), got {prior_weight}.')
        self.in_channels = in_channels
        self.num_tags = num_tags
        self.d_model = d_model
        self.out_channels = d_model
        self.loss_weight = loss_weight

        self.value_head = nn.Linear(in_channels, num_tags)  # W_v
        self.feat_proj = nn.Linear(in_channels, d_model)  # W_f
        self.tag_embed = nn.Parameter(torch.randn(num_tags, d_model))
        self.input_norm = nn.LayerNorm(d_model)

        prior, node_feats = _resolve_prior(prior_graph, tag_names, num_tags)
        self.has_prior = prior is not None
        if prior is not None:
            self.register_buffer('prior_adjacency', prior)
            self.prior_logit = nn.Parameter(
                torch.tensor(math.log(prior_weight / (1 - prior_weight))))
        self.node_feat_proj = None
        if node_feats is not None:
            self.register_buffer('prior_node_features', node_feats)
            self.node_feat_proj = nn.Linear(node_feats.shape[1], d_model)

        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.message = nn.Linear(d_model, d_model)
        self.graph_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

        if ffn_channels is None:
            ffn_channels = 4 * d_model
        self.layers = nn.ModuleList([
            _NodeSelfAttentionLayer(d_model, num_heads, dropout, ffn_channels)
            for _ in range(num_layers)
        ])

        bound = 1 / math.sqrt(d_model)
        self.cls_weight = nn.Parameter(
            torch.empty(num_tags, d_model).uniform_(-bound, bound))
        self.cls_bias = nn.Parameter(torch.zeros(num_tags))

    @property
    def prior_mix(self) -> Optional[torch.Tensor]:
        """Current mixing weight ``a`` of the prior adjacency."""
        return self.prior_logit.sigmoid() if self.has_prior else None

    def node_embeddings(self) -> torch.Tensor:
        """Per-tag embeddings ``e`` of shape ``(T, d_model)``."""
        embed = self.tag_embed
        if self.node_feat_proj is not None:
            embed = embed + self.node_feat_proj(self.prior_node_features)
        return embed

    def forward(
        self,
        visual: VisualFeatures,
        data_samples: Optional[list] = None
    ) -> Tuple[VisualFeatures, Dict[str, torch.Tensor]]:
        """Encode the study as a tag graph.

        Args:
            visual (VisualFeatures): ``global_feat`` of size ``in_channels``.
            data_samples (list, optional): Samples whose ``gt_tags`` give
                the tag loss; none with ``gt_tags`` means no loss.

        Returns:
            tuple: The graph features (see the class docstring) and
            ``{'loss_tag_graph': ...}`` or ``{}``.
        """
        f = visual.global_feat
        if f.dim() != 2 or f.shape[1] != self.in_channels:
            raise ValueError(f'TagGraphEncoder: expected global_feat of shape '
                             f'(B, {self.in_channels}), got {tuple(f.shape)}; '
                             'set in_channels to the backbone/proposer '
                             'output size.')
        values = self.value_head(f).sigmoid()  # (B, T)
        nodes = (self.node_embeddings() * values.unsqueeze(-1) +
                 self.feat_proj(f).unsqueeze(1))
        nodes = self.dropout(self.input_norm(nodes))  # H0

        scores = self.query(nodes) @ self.key(nodes).transpose(1, 2)
        attn = (scores / math.sqrt(self.d_model)).softmax(-1)
        if self.has_prior:
            mix = self.prior_logit.sigmoid()
            attn = (1 - mix) * attn + mix * self.prior_adjacency
        messages = attn @ self.message(nodes)
        nodes = self.graph_norm(nodes + self.dropout(messages))  # H1
        for layer in self.layers:
            nodes = layer(nodes)

        logits = (nodes * self.cls_weight).sum(-1) + self.cls_bias
        probs = logits.sigmoid()
        losses = self.loss(logits, data_samples)

        extras = dict(visual.extras)
        extras.update(
            tag_probs=probs,
            tag_logits=logits,
            initial_tag_probs=values,
            graph_attention=attn,
            visual_tokens=visual.tokens,
            visual_global_feat=f)
        out = visual.replace(
            global_feat=nodes.mean(1), tokens=nodes, extras=extras)
        return out, losses

    def loss(self, logits: torch.Tensor,
             data_samples: Optional[list]) -> Dict[str, torch.Tensor]:
        """BCE of the final node values against ``gt_tags``.

        Samples without ``gt_tags`` are left out; with none, no loss.

        Args:
            logits (Tensor): ``(B, T)`` final node logits.
            data_samples (list, optional): The batch's data samples.

        Returns:
            dict: ``{'loss_tag_graph': Tensor}`` or ``{}``.
        """
        rows: List[int] = []
        targets: List[torch.Tensor] = []
        for i, sample in enumerate(data_samples or []):
            tags = sample.get('gt_tags') if hasattr(sample, 'get') else None
            if tags is None:
                continue
            tags = torch.as_tensor(tags, dtype=torch.float32).reshape(-1)
            if tags.numel() != self.num_tags:
                raise ValueError(
                    f'TagGraphEncoder: data_samples[{i}].gt_tags has '
                    f'{tags.numel()} tags but num_tags={self.num_tags}; set '
                    'num_tags to the length of the dataset\'s tag_names.')
            rows.append(i)
            targets.append(tags)
        if not rows:
            return {}
        target = torch.stack(targets).to(logits.device)
        loss = F.binary_cross_entropy_with_logits(logits[rows], target)
        return dict(loss_tag_graph=loss * self.loss_weight)

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, num_tags={self.num_tags}, '
                f'd_model={self.d_model}, prior={self.has_prior}')
